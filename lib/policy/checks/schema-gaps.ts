/*
 * What the Kubernetes OpenAPI documents cannot express, so strict schema validation lets it
 * through and the API server rejects it at apply time (or, worse, accepts it with another
 * meaning): enum values, names that must be unique within a pod, restart policies per kind.
 * These are this project's own checks.
 */
import { checksOf, type PolicyCheck } from '../check';
import {
  asArray,
  asRecord,
  containersOf,
  dig,
  EVERY_CONTAINER,
  hasPods,
  isCoreKind,
  JOB_KINDS,
  podTemplateOf,
  type PolicyObject,
  type Probe,
  template,
} from '../model';

const IMAGE_PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];

/** valid-image-pull-policy: imagePullPolicy, when set, is Always, IfNotPresent or Never. */
export function validImagePullPolicy(object: PolicyObject): string[] {
  return containersOf(template(object), EVERY_CONTAINER)
    .filter(({ container }) => container.imagePullPolicy !== undefined && !IMAGE_PULL_POLICIES.includes(container.imagePullPolicy))
    .map(
      ({ container, path }) =>
        `${path}.imagePullPolicy is ${JSON.stringify(container.imagePullPolicy)}; expected one of ${IMAGE_PULL_POLICIES.join(', ')}`,
    );
}

/** unique-container-names: container names are unique across the pod's containers, init and ephemeral containers. */
export function uniqueContainerNames(object: PolicyObject): string[] {
  const seen = new Map<string, string>();
  const problems: string[] = [];
  for (const { container, path } of containersOf(template(object), EVERY_CONTAINER)) {
    const first = seen.get(container.name);
    if (first !== undefined) problems.push(`${path}: container name "${container.name}" is already used by ${first}`);
    else seen.set(container.name, path);
  }
  return problems;
}

/**
 * valid-restart-policy: a pod's restartPolicy is Always, OnFailure or Never; controllers that keep
 * pods running accept only Always, Jobs only OnFailure or Never (and must set it: the default,
 * Always, is rejected for Jobs). Only init containers may set a container restartPolicy (Always:
 * a native sidecar).
 */
export function validRestartPolicy(object: PolicyObject): string[] {
  const pod = template(object);
  const policy = pod.spec.restartPolicy;
  const problems: string[] = [];
  const path = `${pod.specPath}.restartPolicy`;
  if (object.kind === 'Pod') {
    if (policy !== undefined && !['Always', 'OnFailure', 'Never'].includes(policy))
      problems.push(`${path} is ${JSON.stringify(policy)}; expected Always, OnFailure or Never`);
  } else if (JOB_KINDS.has(object.kind)) {
    if (policy !== 'OnFailure' && policy !== 'Never')
      problems.push(`${path} is ${policy === undefined ? 'unset (Always)' : JSON.stringify(policy)}; a Job's pods need OnFailure or Never`);
  } else if (policy !== undefined && policy !== 'Always') {
    problems.push(`${path} is ${JSON.stringify(policy)}; a ${object.kind} only accepts Always`);
  }
  for (const { container, kind, path: containerPath } of containersOf(pod, EVERY_CONTAINER)) {
    if (container.restartPolicy === undefined) continue;
    if (kind !== 'initContainer') problems.push(`${containerPath}.restartPolicy is set; only init containers (native sidecars) may set it`);
    else if (container.restartPolicy !== 'Always')
      problems.push(`${containerPath}.restartPolicy is ${JSON.stringify(container.restartPolicy)}; an init container accepts only Always`);
  }
  return problems;
}

type Rule = readonly [path: string, allowed: readonly string[]];

const PROTOCOLS = ['TCP', 'UDP', 'SCTP'];

/** Enum fields per kind, as dotted paths; `[]` steps into every list item. */
const ENUM_RULES: Readonly<Record<string, readonly Rule[]>> = {
  Service: [
    ['spec.type', ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']],
    ['spec.externalTrafficPolicy', ['Cluster', 'Local']],
    ['spec.internalTrafficPolicy', ['Cluster', 'Local']],
    ['spec.sessionAffinity', ['None', 'ClientIP']],
    ['spec.ipFamilyPolicy', ['SingleStack', 'PreferDualStack', 'RequireDualStack']],
    ['spec.ports[].protocol', PROTOCOLS],
  ],
  Deployment: [['spec.strategy.type', ['Recreate', 'RollingUpdate']]],
  StatefulSet: [
    ['spec.podManagementPolicy', ['OrderedReady', 'Parallel']],
    ['spec.updateStrategy.type', ['RollingUpdate', 'OnDelete']],
    ['spec.persistentVolumeClaimRetentionPolicy.whenDeleted', ['Retain', 'Delete']],
    ['spec.persistentVolumeClaimRetentionPolicy.whenScaled', ['Retain', 'Delete']],
    ['spec.volumeClaimTemplates[].spec.accessModes[]', ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod']],
    ['spec.volumeClaimTemplates[].spec.volumeMode', ['Filesystem', 'Block']],
  ],
  DaemonSet: [['spec.updateStrategy.type', ['RollingUpdate', 'OnDelete']]],
  Job: [
    ['spec.completionMode', ['NonIndexed', 'Indexed']],
    ['spec.podReplacementPolicy', ['TerminatingOrFailed', 'Failed']],
  ],
  CronJob: [['spec.concurrencyPolicy', ['Allow', 'Forbid', 'Replace']]],
  PodDisruptionBudget: [['spec.unhealthyPodEvictionPolicy', ['IfHealthyBudget', 'AlwaysAllow']]],
  NetworkPolicy: [
    ['spec.policyTypes[]', ['Ingress', 'Egress']],
    ['spec.ingress[].ports[].protocol', PROTOCOLS],
    ['spec.egress[].ports[].protocol', PROTOCOLS],
  ],
  PersistentVolumeClaim: [
    ['spec.accessModes[]', ['ReadWriteOnce', 'ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOncePod']],
    ['spec.volumeMode', ['Filesystem', 'Block']],
  ],
  HorizontalPodAutoscaler: [
    ['spec.metrics[].type', ['ContainerResource', 'External', 'Object', 'Pods', 'Resource']],
    ['spec.metrics[].resource.target.type', ['AverageValue', 'Utilization', 'Value']],
    ['spec.behavior.scaleUp.selectPolicy', ['Max', 'Min', 'Disabled']],
    ['spec.behavior.scaleDown.selectPolicy', ['Max', 'Min', 'Disabled']],
  ],
};

/** The API group of each kind above (so a custom resource that reuses a kind name is not read as one). */
const ENUM_GROUPS: Readonly<Record<string, string>> = {
  Service: '',
  Deployment: 'apps',
  StatefulSet: 'apps',
  DaemonSet: 'apps',
  Job: 'batch',
  CronJob: 'batch',
  PodDisruptionBudget: 'policy',
  NetworkPolicy: 'networking.k8s.io',
  PersistentVolumeClaim: '',
  HorizontalPodAutoscaler: 'autoscaling',
};

function enumRulesFor(object: PolicyObject): readonly Rule[] {
  const group = ENUM_GROUPS[object.kind];
  return group !== undefined && isCoreKind(object, group, object.kind) ? (ENUM_RULES[object.kind] ?? []) : [];
}

/** Enum fields of a pod spec, relative to it. */
const POD_ENUM_RULES: readonly Rule[] = [
  ['dnsPolicy', ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None']],
  ['preemptionPolicy', ['PreemptLowerPriority', 'Never']],
  ['securityContext.fsGroupChangePolicy', ['OnRootMismatch', 'Always']],
  ['securityContext.seccompProfile.type', ['RuntimeDefault', 'Localhost', 'Unconfined']],
  ['topologySpreadConstraints[].whenUnsatisfiable', ['DoNotSchedule', 'ScheduleAnyway']],
  ['topologySpreadConstraints[].nodeAffinityPolicy', ['Honor', 'Ignore']],
  ['topologySpreadConstraints[].nodeTaintsPolicy', ['Honor', 'Ignore']],
  ['tolerations[].operator', ['Exists', 'Equal']],
  ['tolerations[].effect', ['NoSchedule', 'PreferNoSchedule', 'NoExecute']],
];

/** Enum fields of a container, relative to it. */
const CONTAINER_ENUM_RULES: readonly Rule[] = [
  ['ports[].protocol', PROTOCOLS],
  ['terminationMessagePolicy', ['File', 'FallbackToLogsOnError']],
  ['securityContext.seccompProfile.type', ['RuntimeDefault', 'Localhost', 'Unconfined']],
  ['securityContext.procMount', ['Default', 'Unmasked']],
];

/** Every value at `path` (dotted, with `[]` for list items), with its concrete path. */
function valuesAt(root: unknown, path: string, prefix: string): Array<{ path: string; value: unknown }> {
  let nodes: Array<{ path: string; value: unknown }> = [{ path: prefix, value: root }];
  for (const step of path.split('.')) {
    const isList = step.endsWith('[]');
    const key = isList ? step.slice(0, -2) : step;
    nodes = nodes.flatMap(({ path: nodePath, value }) => {
      const child = asRecord(value)?.[key];
      const childPath = nodePath ? `${nodePath}.${key}` : key;
      if (child === undefined) return [];
      return isList
        ? asArray(child).map((item, index) => ({ path: `${childPath}[${index}]`, value: item }))
        : [{ path: childPath, value: child }];
    });
  }
  return nodes;
}

function probeSchemes(probe: Probe | null | undefined): unknown[] {
  const scheme = dig(probe, ['httpGet', 'scheme']);
  return scheme === undefined ? [] : [scheme];
}

/** valid-enum-values: enum-like fields hold one of the values the API server accepts. */
export function validEnumValues(object: PolicyObject): string[] {
  const found: Array<{ path: string; value: unknown; allowed: readonly string[] }> = [];
  for (const [path, allowed] of enumRulesFor(object)) {
    for (const entry of valuesAt(object, path, '')) found.push({ ...entry, allowed });
  }
  const pod = podTemplateOf(object);
  if (pod) {
    for (const [path, allowed] of POD_ENUM_RULES) {
      for (const entry of valuesAt(pod.spec, path, pod.specPath)) found.push({ ...entry, allowed });
    }
    for (const { container, path: containerPath } of containersOf(pod, EVERY_CONTAINER)) {
      for (const [path, allowed] of CONTAINER_ENUM_RULES) {
        for (const entry of valuesAt(container, path, containerPath)) found.push({ ...entry, allowed });
      }
      for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
        for (const value of probeSchemes(container[probe]))
          found.push({ path: `${containerPath}.${probe}.httpGet.scheme`, value, allowed: ['HTTP', 'HTTPS'] });
      }
    }
  }
  return found
    .filter(({ value, allowed }) => typeof value !== 'string' || !allowed.includes(value))
    .map(({ path, value, allowed }) => `${path} is ${JSON.stringify(value)}; expected one of ${allowed.join(', ')}`);
}

const check = checksOf('prefect-cdk8s');

const withEnums = (object: PolicyObject) => hasPods(object) || enumRulesFor(object).length > 0;

export const SCHEMA_GAP_CHECKS: readonly PolicyCheck[] = [
  check('valid-image-pull-policy', 'imagePullPolicy outside Always, IfNotPresent, Never', hasPods, validImagePullPolicy),
  check('unique-container-names', 'two containers of a pod share a name', hasPods, uniqueContainerNames),
  check('valid-restart-policy', 'restartPolicy not valid for the kind', hasPods, validRestartPolicy),
  check('valid-enum-values', 'enum-like field with a value the API server rejects', withEnums, validEnumValues),
];
