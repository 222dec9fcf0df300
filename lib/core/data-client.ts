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

/** A file from a Secret, mounted read-only into the client's main container. */
export interface SecretFileMount {
  /** The pod volume's name; mounting the same one twice is a no-op. */
  readonly volume: string;
  readonly secretName: string;
  readonly key: string;
  /** The folder it is mounted in; the file is `<directory>/<key>`. */
  readonly directory: string;
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
  /** Mounts a Secret's file (a server's CA certificate); the same volume twice is mounted once. */
  mountSecretFile(mount: SecretFileMount): void;
}

/** Adds `mount` to `mounts` unless its volume is there; a volume under two definitions is an error. */
export function addMount(mounts: Map<string, SecretFileMount>, mount: SecretFileMount, owner: string): void {
  const existing = mounts.get(mount.volume);
  if (existing && JSON.stringify(existing) !== JSON.stringify(mount)) {
    throw new Error(`${owner}: volume ${mount.volume} is mounted twice with different contents`);
  }
  mounts.set(mount.volume, mount);
}

/** The pod volumes and container mounts of recorded Secret files. */
export function toSecretVolumes(mounts: ReadonlyMap<string, SecretFileMount>): {
  volumes: Array<{ name: string; secret: { secretName: string; items: Array<{ key: string; path: string }>; defaultMode: number } }>;
  volumeMounts: Array<{ name: string; mountPath: string; readOnly: boolean }>;
} {
  const list = [...mounts.values()];
  return {
    volumes: list.map((mount) => ({
      name: mount.volume,
      secret: { secretName: mount.secretName, items: [{ key: mount.key, path: mount.key }], defaultMode: 0o444 },
    })),
    volumeMounts: list.map((mount) => ({ name: mount.volume, mountPath: mount.directory, readOnly: true })),
  };
}

/**
 * A minimal DataClient for objects that are not Prefect services (init and migration Jobs) and
 * for tests: it records what the relation methods asked for.
 */
export class RecordingDataClient implements DataClient {
  public readonly env = new Map<string, EnvValue>();
  public readonly egress: EgressRule[] = [];
  public readonly mounts = new Map<string, SecretFileMount>();

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

  public mountSecretFile(mount: SecretFileMount): void {
    addMount(this.mounts, mount, this.name);
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
