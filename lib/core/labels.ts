/**
 * The recommended labels (`app.kubernetes.io/*`): every object and every pod template carries the
 * stable ones; the version only the workloads of that version (their pods' labels, claim
 * templates and every other object stay the same across an upgrade, so a version bump touches
 * only what it upgrades and no field the API server will not update).
 * https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/
 */
export const PART_OF = 'prefect';
export const MANAGED_BY = 'prefect-cdk8s';

export const LABEL = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  partOf: 'app.kubernetes.io/part-of',
  version: 'app.kubernetes.io/version',
  managedBy: 'app.kubernetes.io/managed-by',
} as const;

/** The labels every object and pod template carries: all recommended ones but the version. */
export const STABLE_LABEL_KEYS: readonly string[] = Object.values(LABEL).filter((key) => key !== LABEL.version);

/**
 * The kinds that carry the version label: what runs a versioned image or chart. Their pod
 * templates do not (see above).
 */
export const VERSIONED_KINDS: ReadonlySet<string> = new Set([
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'CronJob',
  'HelmRelease',
  'Cluster',
]);

export interface LabelProps {
  /** What runs: "nebula", "postgres", "istio-ingress". */
  readonly name: string;
  /** Its role in the installation: "api", "database", "namespace", "gitops". */
  readonly component: string;
}

/**
 * The stable recommended labels of one installation, for an object that runs `name` in role
 * `component`. Charts give it to their constructs; a workload adds its version (withVersion).
 */
export type LabelsFor = (props: LabelProps) => Record<string, string>;

/** The installation's instance name, e.g. "prefect-prod". */
export function instanceName(environment: string): string {
  return `prefect-${environment}`;
}

export function recommendedLabels(environment: string, props: LabelProps): Record<string, string> {
  return {
    [LABEL.name]: props.name,
    [LABEL.instance]: instanceName(environment),
    [LABEL.component]: props.component,
    [LABEL.partOf]: PART_OF,
    [LABEL.managedBy]: MANAGED_BY,
  };
}

/** A workload's labels: the stable ones and the version of what it runs (image tag or chart version). */
export function withVersion(labels: Readonly<Record<string, string>>, version: string): Record<string, string> {
  return { ...labels, [LABEL.version]: version };
}

/** The stable subset used in selectors: never the version, which changes on upgrade. */
export function selectorLabels(environment: string, name: string): Record<string, string> {
  return { [LABEL.name]: name, [LABEL.instance]: instanceName(environment) };
}

/** The same selector, read from an object's recommended labels (for constructs given only those). */
export function selectorFor(labels: Readonly<Record<string, string>>): Record<string, string> {
  const name = labels[LABEL.name];
  const instance = labels[LABEL.instance];
  if (!name || !instance)
    throw new Error(`expected the recommended labels ${LABEL.name} and ${LABEL.instance}, got ${JSON.stringify(labels)}`);
  return { [LABEL.name]: name, [LABEL.instance]: instance };
}
