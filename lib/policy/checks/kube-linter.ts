/*
 * kube-linter's checks (stackrox/kube-linter, pkg/builtinchecks/yamls and pkg/templates), each a
 * function named after the check. Semantics follow the upstream templates; where this file
 * deliberately differs, the comment on the function says how and why.
 *
 * kube-linter's "DeploymentLike" objects are the kinds with a pod template (see model.ts); its
 * "all containers" are init and regular containers.
 */
import { checksOf, type CheckContext, type PolicyCheck } from '../check';
import {
  asArray,
  asRecord,
  dig,
  formatSelector,
  hasPods,
  intOrPercent,
  isCoreKind,
  JOB_KINDS,
  mapSelectorMatches,
  REPLICATED_KINDS,
  selectorMatches,
  type LabelSelector,
  type PodTemplate,
  type PolicyObject,
  template,
} from '../model';
import {
  dockerSock,
  dropNetRawCapability,
  duplicateEnvVar,
  envVarSecret,
  hostIpc,
  hostNetwork,
  hostPid,
  latestTag,
  livenessPort,
  noLivenessProbe,
  noReadOnlyRootFs,
  noReadinessProbe,
  perContainer,
  privilegeEscalationContainer,
  privilegedContainer,
  readinessPort,
  runAsNonRoot,
  sensitiveHostMounts,
  sshPort,
  startupPort,
  unsafeSysctls,
  unsetCpuRequirements,
  unsetMemoryRequirements,
} from './kube-linter-pods';

const isService = (object: PolicyObject) => isCoreKind(object, '', 'Service');
const isPdb = (object: PolicyObject) => isCoreKind(object, 'policy', 'PodDisruptionBudget');
const isNetworkPolicy = (object: PolicyObject) => isCoreKind(object, 'networking.k8s.io', 'NetworkPolicy');

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

// --- The registry --------------------------------------------------------------------------------

const pods = hasPods;
const jobs = (object: PolicyObject) => hasPods(object) && JOB_KINDS.has(object.kind);
const workloadsAndServices = (object: PolicyObject) => hasPods(object) || isService(object);
const replicated = (object: PolicyObject) => hasPods(object) && REPLICATED_KINDS.has(object.kind);
const everything = () => true;

const check = checksOf('kube-linter');

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
