/*
 * What a data server (PostgreSQL, a Redis instance) needs to know about a workload that uses
 * it. Relation methods such as `postgres.grantDatabase(client, 'orion')` and
 * `redis.work.allowFrom(client)` take a DataClient and do all of the wiring at once: the
 * environment variables, the NetworkPolicy on both sides and the Istio AuthorizationPolicy.
 */

/** An environment variable's value: a literal, or a key of a Secret. */
export type EnvValue = { readonly value: string } | { readonly secretKeyRef: { readonly name: string; readonly key: string } };

/** Egress that a client's NetworkPolicy must allow. */
export interface EgressRule {
  /** Why, for the policy's readers, e.g. "postgres". */
  readonly purpose: string;
  /** Pods in the cluster; omit both for an address outside it (an external managed service). */
  readonly namespace?: string;
  readonly podSelector?: Record<string, string>;
  readonly port: number;
}

export interface DataClient {
  /** A readable name for object names and messages, e.g. "nebula" or "migrate-orion". */
  readonly name: string;
  readonly namespace: string;
  /** Labels that select exactly this client's pods (NetworkPolicy peers). */
  readonly selectorLabels: Record<string, string>;
  /** The client's ServiceAccount: its Istio identity is `<trust domain>/ns/<namespace>/sa/<name>`. */
  readonly serviceAccountName: string;
  /** Adds an environment variable to the client's main container; throws on a duplicate name. */
  addEnv(name: string, value: EnvValue): void;
  /** Lets the client's pods reach a server; the client's NetworkPolicy includes it. */
  addEgress(rule: EgressRule): void;
}

/**
 * A minimal DataClient for objects that are not Prefect services (init and migration Jobs) and
 * for tests: it records what the relation methods asked for.
 */
export class RecordingDataClient implements DataClient {
  public readonly env = new Map<string, EnvValue>();
  public readonly egress: EgressRule[] = [];

  constructor(
    public readonly name: string,
    public readonly namespace: string,
    public readonly selectorLabels: Record<string, string>,
    public readonly serviceAccountName: string,
  ) {}

  public addEnv(name: string, value: EnvValue): void {
    if (this.env.has(name)) throw new Error(`${this.name}: environment variable ${name} is set twice`);
    this.env.set(name, value);
  }

  public addEgress(rule: EgressRule): void {
    this.egress.push(rule);
  }
}

/** The container `env` entries of recorded variables, in the order they were added. */
export function toEnvVars(
  env: ReadonlyMap<string, EnvValue>,
): Array<{ name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }> {
  return [...env].map(([name, value]) =>
    'value' in value
      ? { name, value: value.value }
      : { name, valueFrom: { secretKeyRef: { name: value.secretKeyRef.name, key: value.secretKeyRef.key } } },
  );
}
