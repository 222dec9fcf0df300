/*
 * Polaris's checks (FairwindsOps/polaris, pkg/config/checks/*.yaml and pkg/validator), each a
 * function named after the check. Polaris expresses most checks as JSON schemas over a container,
 * a pod spec or a controller; these functions state the same conditions. Where this file
 * deliberately differs, the comment on the function says how and why.
 *
 * Polaris's container checks cover init containers unless the check excludes them
 * (`containers.exclude: [initContainer]`); its controllers are every kind with a pod template.
 */
import { checksOf, type CheckContext, type PolicyCheck } from '../check';
import {
  asRecord,
  containersOf,
  dig,
  intOrPercent,
  isCoreKind,
  JOB_KINDS,
  quantityValue,
  selectorMatches,
  hasPods,
  type Container,
  type ContainerKind,
  type LabelSelector,
  type PolicyObject,
  type SecurityContext,
  template,
} from '../model';

function perContainer(
  object: PolicyObject,
  kinds: readonly ContainerKind[],
  check: (container: Container) => string | undefined,
): string[] {
  return containersOf(template(object), kinds).flatMap(({ container }) => {
    const message = check(container);
    return message === undefined ? [] : [message];
  });
}

const ALL_CONTAINERS: readonly ContainerKind[] = ['initContainer', 'container'];
const NON_INIT: readonly ContainerKind[] = ['container'];

/** The HorizontalPodAutoscaler that scales `workload`, if any (any autoscaling version). */
export function autoscalerFor(workload: PolicyObject, context: CheckContext): PolicyObject | undefined {
  return context.inNamespace('autoscaling', 'HorizontalPodAutoscaler', workload.metadata.namespace).find((hpa) => {
    const target = asRecord(dig(hpa, ['spec', 'scaleTargetRef'])) ?? {};
    return target.kind === workload.kind && target.name === workload.metadata.name;
  });
}

/**
 * The KEDA ScaledObject that scales `workload`, if any: KEDA's own HorizontalPodAutoscaler owns
 * the count then, as an HPA does (autoscaling.backlog).
 */
export function scaledObjectFor(workload: PolicyObject, context: CheckContext): PolicyObject | undefined {
  return context.inNamespace('keda.sh', 'ScaledObject', workload.metadata.namespace).find((scaled) => {
    const target = asRecord(dig(scaled, ['spec', 'scaleTargetRef'])) ?? {};
    return (target.kind ?? 'Deployment') === workload.kind && target.name === workload.metadata.name;
  });
}

/** The PodDisruptionBudgets whose selector selects `workload`'s pods. */
export function budgetsFor(workload: PolicyObject, context: CheckContext): PolicyObject[] {
  const pod = template(workload);
  return context
    .inNamespace('policy', 'PodDisruptionBudget', pod.namespace)
    .filter((pdb) => selectorMatches(dig(pdb, ['spec', 'selector']) as LabelSelector | undefined, pod.labels));
}

// --- Reliability -------------------------------------------------------------------------------

/**
 * deploymentMissingReplicas: a Deployment runs at least 2 replicas (spec.replicas must be set).
 * Upstream reads spec.replicas alone; here a Deployment that a HorizontalPodAutoscaler scales
 * passes whatever spec.replicas says, because the autoscaler owns the count: under GitOps the
 * field must be left out (Flux would otherwise reset the count on every reconcile), and the
 * autoscaler's minimum is checked by hpaMinAvailability.
 */
export function deploymentMissingReplicas(deployment: PolicyObject, context: CheckContext): string[] {
  if (autoscalerFor(deployment, context) || scaledObjectFor(deployment, context)) return [];
  const replicas = dig(deployment, ['spec', 'replicas']);
  return typeof replicas === 'number' && replicas >= 2 ? [] : [`Only one replica is scheduled (spec.replicas is ${replicas ?? 'unset'})`];
}

/**
 * missingPodDisruptionBudget: a PodDisruptionBudget in the Deployment's namespace selects its pods.
 * Upstream accepts any budget whose matchLabels share one label with the Deployment's own
 * metadata.labels (so `app.kubernetes.io/part-of: prefect` alone would do); this requires the
 * budget to actually select the Deployment's pods.
 */
export function missingPodDisruptionBudget(deployment: PolicyObject, context: CheckContext): string[] {
  return budgetsFor(deployment, context).length > 0 ? [] : ['Should have a PodDisruptionBudget (none selects its pods)'];
}

/** pdbDisruptionsIsZero: minAvailable "100%" or maxUnavailable 0/"0%" make voluntary evictions impossible. */
export function pdbDisruptionsIsZero(pdb: PolicyObject): string[] {
  const minAvailable = intOrPercent(dig(pdb, ['spec', 'minAvailable']));
  const maxUnavailable = intOrPercent(dig(pdb, ['spec', 'maxUnavailable']));
  if (minAvailable?.percent && minAvailable.value === 100) return ['Voluntary evictions are not possible (minAvailable is 100%)'];
  if (maxUnavailable && maxUnavailable.value === 0) return ['Voluntary evictions are not possible (maxUnavailable is 0)'];
  return [];
}

/** topologySpreadConstraint: long-running pods declare at least one topology spread constraint. */
export function topologySpreadConstraint(object: PolicyObject): string[] {
  return (template(object).spec.topologySpreadConstraints ?? []).length > 0
    ? []
    : ['Pod should be configured with a valid topology spread constraint'];
}

/** hpaMaxAvailability: maxReplicas is at least 1 and greater than minReplicas (when that is set). */
export function hpaMaxAvailability(hpa: PolicyObject): string[] {
  const min = dig(hpa, ['spec', 'minReplicas']);
  const max = dig(hpa, ['spec', 'maxReplicas']);
  if (typeof max !== 'number' || max < 1) return [`HPA maxReplicas should be at least 1 (is ${max ?? 'unset'})`];
  if (typeof min === 'number' && min < 1) return [`HPA minReplicas should be at least 1 (is ${min})`];
  if (typeof min === 'number' && max <= min)
    return [`HPA maxReplicas (${max}) and minReplicas (${min}) should be different: the autoscaler cannot scale`];
  return [];
}

/**
 * hpaMinAvailability: minReplicas is at least 2. Upstream's schema only reads minReplicas when it
 * is set; an unset minReplicas is 1 (the API default), which this flags as well.
 */
export function hpaMinAvailability(hpa: PolicyObject): string[] {
  const min = dig(hpa, ['spec', 'minReplicas']) ?? 1;
  return typeof min === 'number' && min >= 2 ? [] : [`HPA minReplicas should be 2 or more (is ${min})`];
}

/**
 * pdbMinAvailableGreaterThanHPAMinReplicas: for a Deployment with a budget and an autoscaler, the
 * budget's minAvailable (a percentage scaled on minReplicas, rounded up) must not exceed the
 * autoscaler's minReplicas. Upstream attaches a budget that shares one matchLabels pair with the
 * pod labels; this attaches the budgets that select the pods.
 */
export function pdbMinAvailableGreaterThanHPAMinReplicas(deployment: PolicyObject, context: CheckContext): string[] {
  const hpa = autoscalerFor(deployment, context);
  const minReplicas = hpa ? dig(hpa, ['spec', 'minReplicas']) : undefined;
  if (!hpa || typeof minReplicas !== 'number') return [];
  return budgetsFor(deployment, context).flatMap((pdb) => {
    const minAvailable = intOrPercent(dig(pdb, ['spec', 'minAvailable']));
    if (!minAvailable) return [];
    const required = minAvailable.percent ? Math.ceil((minReplicas * minAvailable.value) / 100) : minAvailable.value;
    return required > minReplicas
      ? [
          `The minAvailable value in the PodDisruptionBudget(${pdb.metadata.name}) is ${required}, which is greater than the minReplicas value in the HorizontalPodAutoscaler(${hpa.metadata.name}) (${minReplicas})`,
        ]
      : [];
  });
}

export function readinessProbeMissing(object: PolicyObject): string[] {
  return perContainer(object, NON_INIT, (container) =>
    container.readinessProbe ? undefined : `Readiness probe should be configured (container "${container.name}")`,
  );
}

export function livenessProbeMissing(object: PolicyObject): string[] {
  return perContainer(object, NON_INIT, (container) =>
    container.livenessProbe ? undefined : `Liveness probe should be configured (container "${container.name}")`,
  );
}

/** tagNotSpecified: every image names a tag, and not `latest`. */
export function tagNotSpecified(object: PolicyObject): string[] {
  return perContainer(object, ALL_CONTAINERS, (container) => {
    const image = container.image ?? '';
    return /^.+:.+$/.test(image) && !/^.+:latest$/.test(image)
      ? undefined
      : `Image tag should be specified (container "${container.name}": "${image}")`;
  });
}

// --- Efficiency ----------------------------------------------------------------------------------

function resourceMissing(kind: 'requests' | 'limits', resource: 'cpu' | 'memory') {
  const label = `${resource === 'cpu' ? 'CPU' : 'Memory'} ${kind}`;
  return (object: PolicyObject): string[] =>
    perContainer(object, NON_INIT, (container) => {
      const value = container.resources?.[kind]?.[resource];
      return value === undefined || value === '' || Number.isNaN(quantityValue(value))
        ? `${label} should be set (container "${container.name}")`
        : undefined;
    });
}

export const cpuRequestsMissing = resourceMissing('requests', 'cpu');
export const cpuLimitsMissing = resourceMissing('limits', 'cpu');
export const memoryRequestsMissing = resourceMissing('requests', 'memory');
export const memoryLimitsMissing = resourceMissing('limits', 'memory');

// --- Security ------------------------------------------------------------------------------------

/** privilegeEscalationAllowed: every container sets allowPrivilegeEscalation: false explicitly. */
export function privilegeEscalationAllowed(object: PolicyObject): string[] {
  return perContainer(object, ALL_CONTAINERS, (container) =>
    container.securityContext?.allowPrivilegeEscalation === false
      ? undefined
      : `Privilege escalation should not be allowed (container "${container.name}")`,
  );
}

const nonRootContext = (context: SecurityContext | undefined) =>
  context !== undefined && ((typeof context.runAsUser === 'number' && context.runAsUser >= 1) || context.runAsNonRoot === true);
const notRootOverride = (context: SecurityContext | undefined) =>
  context === undefined ||
  ((context.runAsUser === undefined || context.runAsUser >= 1) && (context.runAsNonRoot === undefined || context.runAsNonRoot === true));

/**
 * runAsRootAllowed: non-root is required at pod level (runAsNonRoot: true or runAsUser >= 1) and
 * not overridden by the container, or required by the container itself.
 */
export function runAsRootAllowed(object: PolicyObject): string[] {
  const pod = template(object);
  return perContainer(object, ALL_CONTAINERS, (container) =>
    (nonRootContext(pod.spec.securityContext) && notRootOverride(container.securityContext)) || nonRootContext(container.securityContext)
      ? undefined
      : `Should not be allowed to run as root (container "${container.name}")`,
  );
}

export function runAsPrivileged(object: PolicyObject): string[] {
  return perContainer(object, ALL_CONTAINERS, (container) =>
    container.securityContext?.privileged === true ? `Should not be running as privileged (container "${container.name}")` : undefined,
  );
}

const DANGEROUS_CAPABILITIES = ['ALL', 'SYS_ADMIN', 'NET_ADMIN'];
/** Polaris's list of capabilities that must all be dropped when ALL is not. */
const INSECURE_CAPABILITIES = [
  'NET_ADMIN',
  'CHOWN',
  'DAC_OVERRIDE',
  'FSETID',
  'FOWNER',
  'MKNOD',
  'NET_RAW',
  'SETGID',
  'SETUID',
  'SETFCAP',
  'SETPCAP',
  'NET_BIND_SERVICE',
  'SYS_CHROOT',
  'KILL',
  'AUDIT_WRITE',
];

export function dangerousCapabilities(object: PolicyObject): string[] {
  return perContainer(object, ALL_CONTAINERS, (container) => {
    const added = (container.securityContext?.capabilities?.add ?? []).filter((capability) =>
      DANGEROUS_CAPABILITIES.includes(capability.toUpperCase()),
    );
    return added.length > 0
      ? `Container should not have dangerous capabilities (container "${container.name}" adds ${added.join(', ')})`
      : undefined;
  });
}

export function insecureCapabilities(object: PolicyObject): string[] {
  return perContainer(object, ALL_CONTAINERS, (container) => {
    const drop = (container.securityContext?.capabilities?.drop ?? []).map((capability) => capability.toUpperCase());
    if (drop.includes('ALL') || INSECURE_CAPABILITIES.every((capability) => drop.includes(capability))) return undefined;
    return `Container should not have insecure capabilities (container "${container.name}" does not drop ALL)`;
  });
}

export function notReadOnlyRootFilesystem(object: PolicyObject): string[] {
  return perContainer(object, ALL_CONTAINERS, (container) =>
    container.securityContext?.readOnlyRootFilesystem === true
      ? undefined
      : `Filesystem should be read only (container "${container.name}")`,
  );
}

export function hostPortSet(object: PolicyObject): string[] {
  return perContainer(object, ALL_CONTAINERS, (container) => {
    const ports = (container.ports ?? []).filter((port) => port.hostPort !== undefined && port.hostPort !== 0);
    return ports.length > 0
      ? `Host port should not be configured (container "${container.name}": ${ports.map((port) => port.hostPort).join(', ')})`
      : undefined;
  });
}

/**
 * automountServiceAccountToken: the pod does not set automountServiceAccountToken: true, and
 * unless it sets false itself, its ServiceAccount (among the objects) sets false.
 */
export function automountServiceAccountToken(object: PolicyObject, context: CheckContext): string[] {
  const pod = template(object);
  const automount = pod.spec.automountServiceAccountToken;
  if (automount === true) return ['The ServiceAccount will be automounted (the pod sets automountServiceAccountToken: true)'];
  if (automount === false) return [];
  const name = pod.spec.serviceAccountName || pod.spec.serviceAccount || 'default';
  const account = context.inNamespace('', 'ServiceAccount', pod.namespace).find((candidate) => candidate.metadata.name === name);
  if (account && account.automountServiceAccountToken === false) return [];
  return [`The ServiceAccount will be automounted (neither the pod nor ServiceAccount "${name}" sets automountServiceAccountToken: false)`];
}

/**
 * missingNetworkPolicy: a NetworkPolicy of the pods' namespace selects them and governs both
 * Ingress and Egress. Upstream's schema wants the pod labels in `podSelector.matchLabels` under a
 * JSON-schema `oneOf` (which rejects a selector using two of the pod's labels) and at least one
 * ingress and one egress rule (which rejects a deny-all direction); this uses label-selector
 * semantics and accepts a direction that denies everything.
 */
export function missingNetworkPolicy(object: PolicyObject, context: CheckContext): string[] {
  const pod = template(object);
  const governing = context
    .inNamespace('networking.k8s.io', 'NetworkPolicy', pod.namespace)
    .filter((policy) => selectorMatches(dig(policy, ['spec', 'podSelector']) as LabelSelector | undefined, pod.labels));
  if (governing.length === 0) return ['A NetworkPolicy should match pod labels (none selects these pods)'];
  if (governing.some((policy) => policyTypes(policy).has('Ingress') && policyTypes(policy).has('Egress'))) return [];
  return [
    `A NetworkPolicy should apply both ingress and egress rules (${governing.map((policy) => `${policy.metadata.name}: ${[...policyTypes(policy)].join('+') || 'none'}`).join('; ')})`,
  ];
}

/** The effective policyTypes: as written, else Ingress plus Egress when egress rules exist (the API default). */
export function policyTypes(policy: PolicyObject): Set<string> {
  const written = dig(policy, ['spec', 'policyTypes']);
  if (Array.isArray(written) && written.length > 0)
    return new Set(
      written.map((type) =>
        String(type).toLowerCase() === 'ingress' ? 'Ingress' : String(type).toLowerCase() === 'egress' ? 'Egress' : String(type),
      ),
    );
  return new Set(['Ingress', ...(dig(policy, ['spec', 'egress']) !== undefined ? ['Egress'] : [])]);
}

// --- The registry --------------------------------------------------------------------------------

const pods = hasPods;
const longRunningPods = (object: PolicyObject) => hasPods(object) && !JOB_KINDS.has(object.kind);
const deployments = (object: PolicyObject) => isCoreKind(object, 'apps', 'Deployment');
const pdbs = (object: PolicyObject) => isCoreKind(object, 'policy', 'PodDisruptionBudget');
const hpas = (object: PolicyObject) => isCoreKind(object, 'autoscaling', 'HorizontalPodAutoscaler');

const check = checksOf('polaris');

export const POLARIS_CHECKS: readonly PolicyCheck[] = [
  check('deploymentMissingReplicas', 'Deployment runs fewer than 2 replicas', deployments, deploymentMissingReplicas),
  check('tagNotSpecified', 'image without a tag or with :latest', pods, tagNotSpecified),
  check('readinessProbeMissing', 'container without a readiness probe (Jobs excluded)', longRunningPods, readinessProbeMissing),
  check('livenessProbeMissing', 'container without a liveness probe (Jobs excluded)', longRunningPods, livenessProbeMissing),
  check('pdbDisruptionsIsZero', 'PodDisruptionBudget allows no voluntary eviction', pdbs, pdbDisruptionsIsZero),
  check('missingPodDisruptionBudget', 'Deployment without a PodDisruptionBudget', deployments, missingPodDisruptionBudget),
  check('topologySpreadConstraint', 'pods without a topology spread constraint (Jobs excluded)', longRunningPods, topologySpreadConstraint),
  check('hpaMaxAvailability', 'HPA maxReplicas not above minReplicas', hpas, hpaMaxAvailability),
  check('hpaMinAvailability', 'HPA minReplicas below 2', hpas, hpaMinAvailability),
  check(
    'pdbMinAvailableGreaterThanHPAMinReplicas',
    'PDB minAvailable above the HPA minimum',
    deployments,
    pdbMinAvailableGreaterThanHPAMinReplicas,
  ),
  check('cpuRequestsMissing', 'container without a CPU request', pods, cpuRequestsMissing),
  check('cpuLimitsMissing', 'container without a CPU limit', pods, cpuLimitsMissing),
  check('memoryRequestsMissing', 'container without a memory request', pods, memoryRequestsMissing),
  check('memoryLimitsMissing', 'container without a memory limit', pods, memoryLimitsMissing),
  check('privilegeEscalationAllowed', 'container does not set allowPrivilegeEscalation: false', pods, privilegeEscalationAllowed),
  check('runAsRootAllowed', 'container may run as root', pods, runAsRootAllowed),
  check('runAsPrivileged', 'container runs privileged', pods, runAsPrivileged),
  check('dangerousCapabilities', 'container adds ALL, SYS_ADMIN or NET_ADMIN', pods, dangerousCapabilities),
  check('insecureCapabilities', 'container does not drop ALL capabilities', pods, insecureCapabilities),
  check('automountServiceAccountToken', 'a service-account token is mounted', pods, automountServiceAccountToken),
  check('missingNetworkPolicy', 'pods without a NetworkPolicy for both directions', pods, missingNetworkPolicy),
  check('notReadOnlyRootFilesystem', 'container root filesystem is writable', pods, notReadOnlyRootFilesystem),
  check('hostPortSet', 'container binds a host port', pods, hostPortSet),
];
