/**
 * The recommended labels (`app.kubernetes.io/*`) that every object and every pod template carries.
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

export const RECOMMENDED_LABEL_KEYS: readonly string[] = Object.values(LABEL);

export interface LabelProps {
  /** What runs: "nebula", "postgres", "istio-ingress". */
  readonly name: string;
  /** Its role in the installation: "api", "database", "namespace", "gitops". */
  readonly component: string;
  /** The version of what runs (image tag or chart version). */
  readonly version: string;
}

/**
 * The recommended labels of one installation, for an object that runs `name` in role
 * `component`; the version defaults to the Prefect release. Charts give it to their constructs.
 */
export type LabelsFor = (props: Omit<LabelProps, 'version'> & { readonly version?: string }) => Record<string, string>;

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
    [LABEL.version]: props.version,
    [LABEL.managedBy]: MANAGED_BY,
  };
}

/**
 * The recommended labels but the version: for what the API server never updates, such as a
 * StatefulSet's volumeClaimTemplates (a version there would make every upgrade an immutable change).
 */
export function unversionedLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([key]) => key !== LABEL.version));
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
