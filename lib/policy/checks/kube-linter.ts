/*
 * kube-linter's checks (stackrox/kube-linter, pkg/builtinchecks/yamls and pkg/templates), each a
 * function named after the check. Semantics follow the upstream templates; where this file
 * deliberately differs, the comment on the function says how and why.
 *
 * kube-linter's "DeploymentLike" objects are the kinds with a pod template (see model.ts); its
 * "all containers" are init and regular containers.
 */
import type { CheckContext, PolicyCheck } from '../check';
import {
  asArray,
  asRecord,
  containersOf,
  dig,
  formatSelector,
  hasPods,
  intOrPercent,
  isCoreKind,
  JOB_KINDS,
  mapSelectorMatches,
  podTemplateOf,
  quantityValue,
  REPLICATED_KINDS,
  selectorMatches,
  type Container,
  type LabelSelector,
  type PodTemplate,
  type PolicyObject,
  type Probe,
} from '../model';

const isService = (object: PolicyObject) => isCoreKind(object, '', 'Service');
const isPdb = (object: PolicyObject) => isCoreKind(object, 'policy', 'PodDisruptionBudget');
const isNetworkPolicy = (object: PolicyObject) => isCoreKind(object, 'networking.k8s.io', 'NetworkPolicy');

function template(object: PolicyObject): PodTemplate {
  return podTemplateOf(object) as PodTemplate;
}

/** Runs `check` on every init and regular container ("PerContainerCheck"). */
function perContainer(object: PolicyObject, check: (container: Container) => string[]): string[] {
  return containersOf(template(object)).flatMap(({ container }) => check(container));
}

/** Runs `check` on every regular container ("PerNonInitContainerCheck"). */
function perNonInitContainer(object: PolicyObject, check: (container: Container) => string[]): string[] {
  return containersOf(template(object), ['container']).flatMap(({ container }) => check(container));
}

function hostPathMounts(object: PolicyObject, patterns: readonly RegExp[]): string[] {
  const pod = template(object);
  const messages: string[] = [];
  for (const volume of pod.spec.volumes ?? []) {
    const hostPath = volume.hostPath?.path;
    if (hostPath === undefined || !patterns.some((pattern) => pattern.test(hostPath))) continue;
    for (const { container } of containersOf(pod)) {
      if ((container.volumeMounts ?? []).some((mount) => mount.name === volume.name)) {
        messages.push(`host system directory "${hostPath}" is mounted on container "${container.name}"`);
      }
    }
  }
  return messages;
}

// --- Services and network policies -------------------------------------------------------------

/** dangling-service: a Service whose selector matches no pod template in its namespace. */
export function danglingService(service: PolicyObject, context: CheckContext): string[] {
  const spec = asRecord(service.spec) ?? {};
  if (spec.type === 'ExternalName') return [];
  const selector = (asRecord(spec.selector) ?? {}) as Record<string, string>;
  if (Object.keys(selector).length === 0) return ['service has no selector specified'];
  const found = context.podTemplatesIn(service.metadata.namespace).some((pod) => mapSelectorMatches(selector, pod.labels));
  return found ? [] : [`no pods found matching service labels (${formatSelector(selector)})`];
}

/** dangling-networkpolicy: a NetworkPolicy whose podSelector matches no pod template in its namespace. */
export function danglingNetworkpolicy(policy: PolicyObject, context: CheckContext): string[] {
  const podSelector = dig(policy, ['spec', 'podSelector']) as LabelSelector | undefined;
  const found = context.podTemplatesIn(policy.metadata.namespace).some((pod) => selectorMatches(podSelector, pod.labels));
  return found ? [] : [`no pods found matching networkpolicy's podSelector labels (${formatSelector(podSelector)})`];
}

/** non-isolated-pod: the pods are selected by no NetworkPolicy of their namespace. */
export function nonIsolatedPod(object: PolicyObject, context: CheckContext): string[] {
  const pod = template(object);
  const selected = context
    .inNamespace('networking.k8s.io', 'NetworkPolicy', pod.namespace)
    .some((policy) => selectorMatches(dig(policy, ['spec', 'podSelector']) as LabelSelector | undefined, pod.labels));
  return selected ? [] : ['pods created by this object are non-isolated'];
}

/**
 * invalid-target-ports: container port names and Service targetPorts must be valid IANA service
 * names (RFC 6335 §5.1: at most 15 characters, a-z, 0-9 and '-', at least one letter, no leading,
 * trailing or double hyphen); numeric targetPorts must be 1-65535.
 */
export function invalidTargetPorts(object: PolicyObject): string[] {
  if (isService(object)) {
    return asArray<{ targetPort?: number | string }>(dig(object, ['spec', 'ports'])).flatMap((port) => {
      const target = port.targetPort;
      if (target === undefined || target === 0) return [];
      const problems = typeof target === 'number' ? portNumberProblems(target) : portNameProblems(target);
      return problems.map((problem) => `port targetPort "${target}" in service "${object.metadata.name}" ${problem}`);
    });
  }
  return perContainer(object, (container) =>
    (container.ports ?? []).flatMap((port) =>
      port.name ? portNameProblems(port.name).map((problem) => `port name "${port.name}" in container "${container.name}" ${problem}`) : [],
    ),
  );
}

export function portNameProblems(name: string): string[] {
  const problems: string[] = [];
  if (name.length > 15) problems.push('must be no more than 15 characters');
  if (!/^[-a-z0-9]+$/.test(name)) problems.push('must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)');
  if (name.includes('--')) problems.push('must not contain consecutive hyphens');
  if (!/[a-z]/.test(name)) problems.push('must contain at least one letter (a-z)');
  if (name.startsWith('-') || name.endsWith('-')) problems.push('must not begin or end with a hyphen');
  return problems;
}

function portNumberProblems(port: number): string[] {
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? [] : ['must be between 1 and 65535, inclusive'];
}

// --- Workload shape ----------------------------------------------------------------------------

/** mismatching-selector: the workload's selector must select its own pod template (Jobs may omit it). */
export function mismatchingSelector(object: PolicyObject): string[] {
  if (object.kind === 'Pod') return [];
  const selector = dig(object, ['spec', 'selector']) as LabelSelector | undefined;
  const empty = !selector || (Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0);
  if (empty) return JOB_KINDS.has(object.kind) ? [] : ['object has no selector specified'];
  const pod = template(object);
  return selectorMatches(selector, pod.labels)
    ? []
    : [`labels in pod spec (${formatSelector(pod.labels)}) do not match labels in selector (${formatSelector(selector)})`];
}

/**
 * no-anti-affinity: with 2 or more replicas, the pod template needs a podAntiAffinity term on
 * `kubernetes.io/hostname` that selects its own pods. topologySpreadConstraints do NOT count
 * (upstream reads only `affinity.podAntiAffinity`). Upstream compares a term's `namespaces` with
 * the pod template's (usually empty) namespace; this compares with the workload's namespace.
 */
export function noAntiAffinity(object: PolicyObject): string[] {
  const replicas = dig(object, ['spec', 'replicas']);
  if (typeof replicas !== 'number' || replicas < 2) return [];
  const pod = template(object);
  const antiAffinity = pod.spec.affinity?.podAntiAffinity;
  if (!antiAffinity) return [`object has ${replicas} replicas but does not specify inter pod anti-affinity`];
  const terms = [
    ...(antiAffinity.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((preferred) => preferred.podAffinityTerm),
    ...(antiAffinity.requiredDuringSchedulingIgnoredDuringExecution ?? []),
  ];
  if (terms.length === 0)
    return [`object has ${replicas} replicas but does not specify preferred or required inter pod anti-affinity during scheduling`];
  const problems: string[] = [];
  for (const term of terms) {
    if (term.namespaces && term.namespaces.length > 0 && !term.namespaces.includes(pod.namespace ?? '')) {
      problems.push(`pod's namespace "${pod.namespace}" not found in anti-affinity's namespaces [${term.namespaces.join(', ')}]`);
    } else if (term.topologyKey !== 'kubernetes.io/hostname') {
      problems.push(`anti-affinity's topology key does not match "${term.topologyKey}"`);
    } else if (!selectorMatches(term.labelSelector, pod.labels)) {
      problems.push(
        `pod's labels "${formatSelector(pod.labels)}" do not match with anti-affinity's labels "${formatSelector(term.labelSelector)}"`,
      );
    } else {
      return [];
    }
  }
  return problems;
}

/** job-ttl-seconds-after-finished: a standalone Job must set ttlSecondsAfterFinished; a CronJob's job template must not. */
export function jobTtlSecondsAfterFinished(object: PolicyObject): string[] {
  if (object.kind === 'Job') {
    return dig(object, ['spec', 'ttlSecondsAfterFinished']) === undefined
      ? ['Standalone Job does not specify ttlSecondsAfterFinished']
      : [];
  }
  return dig(object, ['spec', 'jobTemplate', 'spec', 'ttlSecondsAfterFinished']) === undefined
    ? []
    : [
        'Managed Job specifies ttlSecondsAfterFinished which might conflict with successfulJobsHistoryLimit and failedJobsHistoryLimit from CronJob',
      ];
}

/** no-extensions-v1beta: objects must not use the removed extensions/v1beta* API versions. */
export function noExtensionsV1beta(object: PolicyObject): string[] {
  return /^extensions\/v1beta.+$/.test(object.apiVersion) ? [`disallowed API object found: ${object.apiVersion} ${object.kind}`] : [];
}

/** use-namespace: workloads and Services must not live in the default namespace. */
export function useNamespace(object: PolicyObject): string[] {
  const namespace = object.metadata.namespace;
  return namespace === undefined || namespace === '' || namespace === 'default'
    ? [`object in namespace "${namespace ?? 'default'}" found`]
    : [];
}

// --- Disruption budgets ------------------------------------------------------------------------

/** pdb-max-unavailable: maxUnavailable 0 (or "0%") never allows a disruption. */
export function pdbMaxUnavailable(pdb: PolicyObject): string[] {
  // Upstream compares IntOrString.IntVal with 0, which also flags every percentage string
  // ("50%" has IntVal 0); this reads the value as the API server does.
  const maxUnavailable = intOrPercent(dig(pdb, ['spec', 'maxUnavailable']));
  return maxUnavailable && maxUnavailable.value === 0 ? ['MaxUnavailable is set to 0'] : [];
}

/**
 * pdb-min-available: minAvailable "100%", or at least the replicas of a workload the budget
 * selects, never allows a disruption. Upstream pairs budgets and workloads whose selectors are
 * textually equal; this pairs them when the budget's selector selects the workload's pods.
 */
export function pdbMinAvailable(pdb: PolicyObject, context: CheckContext): string[] {
  const raw = dig(pdb, ['spec', 'minAvailable']);
  if (raw === undefined) return [];
  const minAvailable = intOrPercent(raw);
  if (!minAvailable) return [`PDB has invalid MinAvailable value: ${JSON.stringify(raw)}`];
  if (minAvailable.percent && minAvailable.value === 100) return ['PDB has minimum available replicas set to 100 percent of replicas'];
  const selector = dig(pdb, ['spec', 'selector']) as LabelSelector | undefined;
  const messages: string[] = [];
  for (const pod of context.podTemplatesIn(pdb.metadata.namespace)) {
    if (!REPLICATED_KINDS.has(pod.owner.kind) || !selectorMatches(selector, pod.labels)) continue;
    const written = dig(pod.owner, ['spec', 'replicas']);
    const replicas = typeof written === 'number' ? written : 1; // the API default, as upstream
    const required = minAvailable.percent ? Math.floor((replicas * minAvailable.value) / 100) : minAvailable.value;
    if (replicas <= required) {
      messages.push(
        `${pod.owner.kind} ${pod.owner.metadata.name} has replicas (${replicas}) less than or equal to the minimum available replicas (${required}) set by its PDB`,
      );
    }
  }
  return messages;
}

/** pdb-unhealthy-pod-eviction-policy: unhealthyPodEvictionPolicy must be set explicitly. */
export function pdbUnhealthyPodEvictionPolicy(pdb: PolicyObject): string[] {
  return dig(pdb, ['spec', 'unhealthyPodEvictionPolicy']) === undefined ? ['unhealthyPodEvictionPolicy is not explicitly set'] : [];
}

// --- Service accounts --------------------------------------------------------------------------

function serviceAccountName(pod: PodTemplate): string {
  return pod.spec.serviceAccountName || pod.spec.serviceAccount || '';
}

/** deprecated-service-account-field: the deprecated `serviceAccount` field must not be used. */
export function deprecatedServiceAccountField(object: PolicyObject): string[] {
  const deprecated = template(object).spec.serviceAccount;
  return deprecated ? [`serviceAccount is specified (${deprecated}), but this field is deprecated; use serviceAccountName instead`] : [];
}

/** non-existent-service-account: the pods' ServiceAccount must be among the objects (default always exists). */
export function nonExistentServiceAccount(object: PolicyObject, context: CheckContext): string[] {
  const pod = template(object);
  const name = serviceAccountName(pod);
  if (name === '' || name === 'default') return [];
  const exists = context.inNamespace('', 'ServiceAccount', pod.namespace).some((account) => account.metadata.name === name);
  return exists ? [] : [`serviceAccount "${name}" not found`];
}

/** default-service-account: pods must not run as the default ServiceAccount (unless no token is mounted, as upstream). */
export function defaultServiceAccount(object: PolicyObject): string[] {
  const pod = template(object);
  if (pod.spec.automountServiceAccountToken === false) return [];
  const name = serviceAccountName(pod);
  return name === '' || name === 'default' ? [`found matching serviceAccount ("${name}")`] : [];
}

// --- Pod and container security ----------------------------------------------------------------

export function hostIpc(object: PolicyObject): string[] {
  return template(object).spec.hostIPC === true ? ["resource shares host's IPC namespace (via hostIPC=true)."] : [];
}

export function hostNetwork(object: PolicyObject): string[] {
  return template(object).spec.hostNetwork === true ? ["resource shares host's network namespace (via hostNetwork=true)."] : [];
}

export function hostPid(object: PolicyObject): string[] {
  return template(object).spec.hostPID === true ? ["object shares the host's process namespace (via hostPID=true)."] : [];
}

/** docker-sock: no container may mount the Docker socket from the host. */
export function dockerSock(object: PolicyObject): string[] {
  return hostPathMounts(object, [/docker\.sock$/]);
}

/** sensitive-host-mounts: no container may mount /, /boot, /dev, /etc, /lib, /proc, /sys or /usr from the host. */
export function sensitiveHostMounts(object: PolicyObject): string[] {
  return hostPathMounts(object, [/^\/$/, /^\/boot$/, /^\/dev$/, /^\/etc$/, /^\/lib$/, /^\/proc$/, /^\/sys$/, /^\/usr$/]);
}

const isAll = (capability: string) => /^all$/i.test(capability);

/**
 * drop-net-raw-capability: NET_RAW (or ALL) must be dropped and not added. As upstream, a
 * container without `securityContext.capabilities` is not flagged (pss-restricted-capabilities is).
 */
export function dropNetRawCapability(object: PolicyObject): string[] {
  return perContainer(object, (container) => {
    const capabilities = container.securityContext?.capabilities;
    if (!capabilities) return [];
    const messages: string[] = [];
    for (const added of capabilities.add ?? []) {
      if (added === 'NET_RAW' || isAll(added))
        messages.push(
          `container "${container.name}" has ADD capability: "${added}", which matched with the forbidden capability for containers`,
        );
    }
    const drop = capabilities.drop ?? [];
    if (!drop.some((dropped) => dropped === 'NET_RAW' || isAll(dropped))) {
      messages.push(
        `container "${container.name}" has DROP capabilities: [${drop.join(' ')}], but does not drop capability "NET_RAW" which is required`,
      );
    }
    return messages;
  });
}

/** privilege-escalation-container: no allowPrivilegeEscalation: true, privileged: true or SYS_ADMIN. */
export function privilegeEscalationContainer(object: PolicyObject): string[] {
  return perContainer(object, (container) => {
    const context = container.securityContext;
    if (!context) return [];
    if (context.allowPrivilegeEscalation === true) return [`container "${container.name}" has AllowPrivilegeEscalation set to true.`];
    if (context.privileged === true) return [`container "${container.name}" is Privileged hence allows privilege escalation.`];
    if ((context.capabilities?.add ?? []).includes('SYS_ADMIN'))
      return [`container "${container.name}" has SYS_ADMIN capability hence allows privilege escalation.`];
    return [];
  });
}

export function privilegedContainer(object: PolicyObject): string[] {
  return perContainer(object, (container) =>
    container.securityContext?.privileged === true ? [`container "${container.name}" is privileged`] : [],
  );
}

export function noReadOnlyRootFs(object: PolicyObject): string[] {
  return perContainer(object, (container) =>
    container.securityContext?.readOnlyRootFilesystem === true
      ? []
      : [`container "${container.name}" does not have a read-only root file system`],
  );
}

/**
 * run-as-non-root: the effective (container, else pod) runAsUser and runAsGroup are non-zero, or
 * runAsNonRoot is true (and runAsUser is not 0); runAsGroup must be set and not 0 either way.
 */
export function runAsNonRoot(object: PolicyObject): string[] {
  const pod = template(object);
  return perContainer(object, (container) => {
    const own = container.securityContext;
    const podContext = pod.spec.securityContext;
    const user = own?.runAsUser ?? podContext?.runAsUser;
    const group = own?.runAsGroup ?? podContext?.runAsGroup;
    if (typeof user === 'number' && user > 0 && typeof group === 'number' && group > 0) return [];
    const messages: string[] = [];
    if (group === 0) messages.push(`container "${container.name}" has runAsGroup set to 0`);
    if (group === undefined) messages.push(`container "${container.name}" does not have runAsGroup set`);
    const nonRoot = own?.runAsNonRoot ?? podContext?.runAsNonRoot ?? false;
    if (nonRoot) {
      if (user === 0) messages.push(`container "${container.name}" is set to runAsNonRoot, but runAsUser set to 0`);
      return messages;
    }
    messages.push(`container "${container.name}" is not set to runAsNonRoot`);
    return messages;
  });
}

const UNSAFE_SYSCTL_PREFIXES = ['kernel.msg', 'kernel.sem', 'kernel.shm', 'fs.mqueue.', 'net.'];

export function unsafeSysctls(object: PolicyObject): string[] {
  return (template(object).spec.securityContext?.sysctls ?? [])
    .filter((sysctl) => UNSAFE_SYSCTL_PREFIXES.some((prefix) => sysctl.name.startsWith(prefix)))
    .map((sysctl) => `${object.metadata.name} has unsafe allocation to resource ${sysctl.name}.`);
}

// --- Containers: images, env, ports, probes, resources ------------------------------------------

/** The default BlockList of latest-tag: `:latest`, no tag at all, or a registry:port with no tag. */
const LATEST_TAG_BLOCKLIST = [/.*:(latest)$/, /^[^:]*$/, /(.*\/[^:]+)$/];

export function latestTag(object: PolicyObject): string[] {
  return perContainer(object, (container) => {
    const image = container.image ?? '';
    return LATEST_TAG_BLOCKLIST.some((pattern) => pattern.test(image))
      ? [
          `The container "${container.name}" is using an invalid container image, "${image}". Please use images that are not blocked by the \`BlockList\` criteria`,
        ]
      : [];
  });
}

/** env-var-secret: no environment variable named like *secret* with a literal value (use secretKeyRef). */
export function envVarSecret(object: PolicyObject): string[] {
  return perContainer(object, (container) =>
    (container.env ?? [])
      .filter((variable) => /secret/i.test(variable.name) && typeof variable.value === 'string' && variable.value.length > 0)
      .map((variable) => `environment variable ${variable.name} in container "${container.name}" found`),
  );
}

export function duplicateEnvVar(object: PolicyObject): string[] {
  return perContainer(object, (container) => {
    const seen = new Map<string, number>();
    const messages: string[] = [];
    for (const variable of container.env ?? []) {
      const count = (seen.get(variable.name) ?? 0) + 1;
      seen.set(variable.name, count);
      if (count === 2) messages.push(`Duplicate environment variable ${variable.name} in container "${container.name}" found`);
    }
    return messages;
  });
}

export function sshPort(object: PolicyObject): string[] {
  return perContainer(object, (container) =>
    (container.ports ?? [])
      .filter((port) => port.containerPort === 22 && (port.protocol ?? 'TCP') === 'TCP')
      .map(() => `port 22 and protocol TCP in container "${container.name}" found`),
  );
}

/** A probe's port must be one the container declares (by number or name, TCP only). */
function probePortProblems(container: Container, probe: Probe | null | undefined): string[] {
  if (!probe) return [];
  const exposed = new Set<string>();
  for (const port of container.ports ?? []) {
    if (port.protocol !== undefined && port.protocol !== '' && port.protocol !== 'TCP') continue;
    if (port.containerPort !== undefined) exposed.add(`int:${port.containerPort}`);
    exposed.add(`str:${port.name ?? ''}`);
  }
  const key = (port: number | string | undefined) => (typeof port === 'number' ? `int:${port}` : `str:${port ?? ''}`);
  if (probe.httpGet && !exposed.has(key(probe.httpGet.port)))
    return [`container "${container.name}" does not expose port ${probe.httpGet.port} for the HTTPGet`];
  if (probe.tcpSocket && !exposed.has(key(probe.tcpSocket.port)))
    return [`container "${container.name}" does not expose port ${probe.tcpSocket.port} for the TCPSocket`];
  if (probe.grpc && !exposed.has(key(probe.grpc.port)))
    return [`container "${container.name}" does not expose port ${probe.grpc.port} for the GRPC check`];
  return [];
}

export function livenessPort(object: PolicyObject): string[] {
  return perContainer(object, (container) => probePortProblems(container, container.livenessProbe));
}

export function readinessPort(object: PolicyObject): string[] {
  return perContainer(object, (container) => probePortProblems(container, container.readinessProbe));
}

export function startupPort(object: PolicyObject): string[] {
  return perContainer(object, (container) => probePortProblems(container, container.startupProbe));
}

export function noLivenessProbe(object: PolicyObject): string[] {
  return perNonInitContainer(object, (container) =>
    container.livenessProbe ? [] : [`container "${container.name}" does not specify a liveness probe`],
  );
}

export function noReadinessProbe(object: PolicyObject): string[] {
  return perNonInitContainer(object, (container) =>
    container.readinessProbe ? [] : [`container "${container.name}" does not specify a readiness probe`],
  );
}

/** unset-cpu-requirements: every container requests CPU (upstream's current default: requests only, no limit). */
export function unsetCpuRequirements(object: PolicyObject): string[] {
  return perContainer(object, (container) => {
    const request = quantityValue(container.resources?.requests?.cpu);
    return request === undefined || request === 0 ? [`container "${container.name}" has cpu request 0`] : [];
  });
}

/** unset-memory-requirements: every container has a memory limit (upstream's current default: the limit). */
export function unsetMemoryRequirements(object: PolicyObject): string[] {
  return perContainer(object, (container) => {
    const limit = quantityValue(container.resources?.limits?.memory);
    return limit === undefined || limit === 0 ? [`container "${container.name}" has memory limit 0`] : [];
  });
}

// --- The registry --------------------------------------------------------------------------------

const pods = hasPods;
const jobs = (object: PolicyObject) => hasPods(object) && JOB_KINDS.has(object.kind);
const workloadsAndServices = (object: PolicyObject) => hasPods(object) || isService(object);
const replicated = (object: PolicyObject) => hasPods(object) && REPLICATED_KINDS.has(object.kind);
const everything = () => true;

function check(
  name: string,
  description: string,
  appliesTo: (object: PolicyObject) => boolean,
  evaluate: PolicyCheck['evaluate'],
): PolicyCheck {
  return { name, origin: 'kube-linter', description, appliesTo, evaluate };
}

/** kube-linter's default checks, then the opt-in ones this project adds. */
export const KUBE_LINTER_CHECKS: readonly PolicyCheck[] = [
  check('dangling-service', 'Service selects no pods', isService, danglingService),
  check('deprecated-service-account-field', 'pod uses the deprecated serviceAccount field', pods, deprecatedServiceAccountField),
  check('docker-sock', 'container mounts the Docker socket', pods, dockerSock),
  check('drop-net-raw-capability', 'container does not drop NET_RAW', pods, dropNetRawCapability),
  check('duplicate-env-var', 'container sets an environment variable twice', pods, duplicateEnvVar),
  check('env-var-secret', 'secret-named environment variable with a literal value', pods, envVarSecret),
  check('host-ipc', 'pod shares the host IPC namespace', pods, hostIpc),
  check('host-network', 'pod shares the host network namespace', pods, hostNetwork),
  check('host-pid', 'pod shares the host PID namespace', pods, hostPid),
  check('invalid-target-ports', 'port name or targetPort violates the specification', workloadsAndServices, invalidTargetPorts),
  check(
    'job-ttl-seconds-after-finished',
    'Job without ttlSecondsAfterFinished (or CronJob job with one)',
    jobs,
    jobTtlSecondsAfterFinished,
  ),
  check('latest-tag', 'image without a tag or with :latest', pods, latestTag),
  check('liveness-port', 'liveness probe on a port the container does not expose', pods, livenessPort),
  check('readiness-port', 'readiness probe on a port the container does not expose', pods, readinessPort),
  check('startup-port', 'startup probe on a port the container does not expose', pods, startupPort),
  check('mismatching-selector', 'selector does not select the pod template', pods, mismatchingSelector),
  check('no-anti-affinity', 'several replicas without hostname pod anti-affinity', replicated, noAntiAffinity),
  check('no-extensions-v1beta', 'object uses extensions/v1beta*', everything, noExtensionsV1beta),
  check('no-read-only-root-fs', 'container root filesystem is writable', pods, noReadOnlyRootFs),
  check('non-existent-service-account', 'pod references a ServiceAccount that is not among the objects', pods, nonExistentServiceAccount),
  check('pdb-max-unavailable', 'PodDisruptionBudget maxUnavailable is 0', isPdb, pdbMaxUnavailable),
  check('pdb-min-available', 'PodDisruptionBudget minAvailable never allows a disruption', isPdb, pdbMinAvailable),
  check(
    'pdb-unhealthy-pod-eviction-policy',
    'PodDisruptionBudget does not set unhealthyPodEvictionPolicy',
    isPdb,
    pdbUnhealthyPodEvictionPolicy,
  ),
  check('privilege-escalation-container', 'container can escalate privileges', pods, privilegeEscalationContainer),
  check('privileged-container', 'container runs privileged', pods, privilegedContainer),
  check('run-as-non-root', 'container may run as root (user or group)', pods, runAsNonRoot),
  check('sensitive-host-mounts', 'container mounts a sensitive host directory', pods, sensitiveHostMounts),
  check('ssh-port', 'container exposes port 22/TCP', pods, sshPort),
  check('unsafe-sysctls', 'pod sets an unsafe sysctl', pods, unsafeSysctls),
  check('unset-cpu-requirements', 'container without a CPU request', pods, unsetCpuRequirements),
  check('unset-memory-requirements', 'container without a memory limit', pods, unsetMemoryRequirements),
  // Not enabled by default upstream; this project enables them.
  check('no-liveness-probe', 'container without a liveness probe', pods, noLivenessProbe),
  check('no-readiness-probe', 'container without a readiness probe', pods, noReadinessProbe),
  check('non-isolated-pod', 'pods selected by no NetworkPolicy', pods, nonIsolatedPod),
  check('dangling-networkpolicy', 'NetworkPolicy selects no pods', isNetworkPolicy, danglingNetworkpolicy),
  check('default-service-account', 'pod uses the default ServiceAccount with a token', pods, defaultServiceAccount),
  check('use-namespace', 'workload or Service in the default namespace', workloadsAndServices, useNamespace),
];
