import { Construct } from 'constructs';
import {
  ExternalSecret,
  type ExternalSecretSpecData,
  ExternalSecretSpecSecretStoreRefKind,
  ExternalSecretSpecTargetCreationPolicy,
  ExternalSecretSpecTargetDeletionPolicy,
  ExternalSecretSpecTargetTemplateEngineVersion,
} from '../../../imports/external-secrets-external-secrets.io';
import type { LabelsFor } from '../../core/labels';
import type { EnvironmentConfig } from '../../config/load';
import { lazyList } from '../../core/lazy-list';
import { defaultSecretName, SECRET_CATALOG, type SecretDefinition, type SecretId } from '../../catalog/secrets';

export interface PrefectSecretsProps {
  readonly config: EnvironmentConfig['secrets'];
  readonly labelsFor: LabelsFor;
  /**
   * The name of the Prefect images' pull secret (`prefect.image.pullSecret`).
   * @default - the images are pulled without credentials
   */
  readonly imagePullSecret?: string;
}

/** The pod-template annotation that carries `secrets.revision`. */
export const SECRETS_REVISION_ANNOTATION = 'prefect-cdk8s.io/secrets-revision';

/**
 * The pod-template annotation for a workload that reads Secrets when it starts (environment
 * variables, files turned into configuration): bumping `secrets.revision` changes the template,
 * so the pods restart and read the new values. Kubernetes restarts nothing when a Secret changes.
 */
export function secretsRevisionAnnotation(config: Pick<EnvironmentConfig, 'secrets'>): Record<string, string> {
  return { [SECRETS_REVISION_ANNOTATION]: config.secrets.revision };
}

/** One Secret in one namespace that an object of the installation reads. */
export interface SecretUse {
  /** The catalog's id, or for a Secret the configuration names itself, its name. */
  readonly id: SecretId | string;
  /** What it holds and of which type (the catalog's entry, or one made for a configured Secret). */
  readonly definition: SecretDefinition;
  readonly name: string;
  readonly namespace: string;
  /** The keys read there, in the catalog's order (a namespace gets only what it reads). */
  readonly keys: readonly string[];
}

/**
 * The installation's Secrets, referenced by name and never holding a value. Every reference goes
 * through here, so the names and keys come from one place (lib/catalog/secrets.ts) and each use is
 * recorded: with `existing`, the uses are the Secrets the user must create (`kubectlCommands`);
 * with `external-secrets`, the first use of a Secret in a namespace emits its ExternalSecret
 * there, so a Secret reaches exactly the namespaces that read it.
 */
export class PrefectSecrets extends Construct {
  private readonly config: EnvironmentConfig['secrets'];
  private readonly labelsFor: LabelsFor;
  private readonly imagePullSecret?: string;
  private readonly uses = new Map<
    string,
    {
      readonly id: SecretId | string;
      readonly definition: SecretDefinition;
      readonly name: string;
      readonly namespace: string;
      readonly keys: Set<string>;
    }
  >();

  constructor(scope: Construct, id: string, props: PrefectSecretsProps) {
    super(scope, id);
    this.config = props.config;
    this.labelsFor = props.labelsFor;
    this.imagePullSecret = props.imagePullSecret;
  }

  /** The Kubernetes name of a Secret (configured, or "prefect-<id>"). */
  public nameOf(id: SecretId): string {
    if (id === 'image-pull') {
      if (this.imagePullSecret === undefined) throw new Error('the image pull secret is read but prefect.image.pullSecret names none');
      return this.imagePullSecret;
    }
    return this.config.names?.[id] ?? defaultSecretName(id);
  }

  /** The pod-template annotation of `secretsRevisionAnnotation`, for pods that read Secrets at start. */
  public get revisionAnnotation(): Record<string, string> {
    return secretsRevisionAnnotation({ secrets: this.config });
  }

  /**
   * A pod's `imagePullSecrets` for the Prefect images in `namespace` (none when
   * `prefect.image.pullSecret` is not set), recording the use like any other Secret.
   */
  public imagePullSecrets(namespace: string): Array<{ readonly name: string }> {
    return this.imagePullSecret === undefined ? [] : [{ name: this.use('image-pull', namespace) }];
  }

  /** A `secretKeyRef` for `key` of the Secret, read by a pod in `namespace`. */
  public keyRef(id: SecretId, key: string, namespace: string): { readonly name: string; readonly key: string } {
    const definition = SECRET_CATALOG[id];
    if (!definition.keys.includes(key)) {
      throw new Error(`Secret ${id} has no key "${key}"; its keys are ${definition.keys.join(', ')} (lib/catalog/secrets.ts)`);
    }
    return { name: this.record(id, namespace, [key]), key };
  }

  /**
   * A `secretKeyRef` for a Secret the configuration names itself (an environment variable's
   * value, `{ secret, key }`), read by a pod in `namespace`; `purpose` says what reads it (README).
   * Throws when the name is one of the installation's own Secrets: their keys are the catalog's.
   */
  public configuredKeyRef(name: string, key: string, namespace: string, purpose: string): { readonly name: string; readonly key: string } {
    const own = (Object.keys(SECRET_CATALOG) as SecretId[]).find((id) => id !== 'image-pull' && this.nameOf(id) === name);
    if (own !== undefined) {
      throw new Error(
        `${purpose}: the Secret "${name}" is the installation's own "${own}" (lib/catalog/secrets.ts); reference a Secret of your own`,
      );
    }
    const useKey = `${namespace}/configured:${name}`;
    let use = this.uses.get(useKey);
    if (!use) {
      const definition: SecretDefinition = { id: name, type: 'Opaque', keys: [], description: purpose };
      use = { id: name, definition, name, namespace, keys: new Set() };
      this.uses.set(useKey, use);
      if (this.config.provider === 'external-secrets') this.externalSecret(name, definition, name, namespace, use.keys);
    } else if (!use.definition.description.split('; ').includes(purpose)) {
      use = { ...use, definition: { ...use.definition, description: `${use.definition.description}; ${purpose}` } };
      this.uses.set(useKey, use);
    }
    use.keys.add(key);
    return { name, key };
  }

  /**
   * Records that an object in `namespace` reads the Secret (all of its keys, or `keys`); returns
   * its name.
   */
  public use(id: SecretId, namespace: string, keys: readonly string[] = SECRET_CATALOG[id].keys): string {
    return this.record(id, namespace, keys);
  }

  /** Every Secret read, sorted by namespace and name. */
  public get all(): SecretUse[] {
    return [...this.uses.values()]
      .map((use) => ({ ...use, keys: this.keysOf(use.definition, use.keys) }))
      .sort((a, b) => (a.namespace + a.name < b.namespace + b.name ? -1 : 1));
  }

  private record(id: SecretId, namespace: string, keys: readonly string[]): string {
    const name = this.nameOf(id);
    const key = `${namespace}/${id}`;
    let use = this.uses.get(key);
    if (!use) {
      use = { id, definition: SECRET_CATALOG[id], name, namespace, keys: new Set() };
      this.uses.set(key, use);
      if (this.config.provider === 'external-secrets') this.externalSecret(id, SECRET_CATALOG[id], name, namespace, use.keys);
    }
    for (const read of keys) use.keys.add(read);
    return name;
  }

  /**
   * The keys read, plus fixed ones (a role's username), in the catalog's order; a configured
   * Secret's keys in the order first read.
   */
  private keysOf(definition: SecretDefinition, read: ReadonlySet<string>): string[] {
    if (definition.keys.length === 0) return [...read];
    return definition.keys.filter((key) => read.has(key) || definition.fixed?.[key] !== undefined);
  }

  private externalSecret(id: string, definition: SecretDefinition, name: string, namespace: string, read: ReadonlySet<string>): void {
    if (this.config.provider !== 'external-secrets') return;
    const { store, refreshInterval, remoteKeyPrefix } = this.config;
    const labels = this.labelsFor({ name, component: 'secret' });
    new ExternalSecret(this, `${namespace}-${id}`, {
      metadata: { name, namespace, labels },
      spec: {
        refreshInterval,
        secretStoreRef: {
          kind:
            store.kind === 'SecretStore'
              ? ExternalSecretSpecSecretStoreRefKind.SECRET_STORE
              : ExternalSecretSpecSecretStoreRefKind.CLUSTER_SECRET_STORE,
          name: store.name,
        },
        target: {
          name,
          // The Secret belongs to its ExternalSecret; it stays when the remote value is deleted,
          // so a mistake in the store does not take the database credentials away.
          creationPolicy: ExternalSecretSpecTargetCreationPolicy.OWNER,
          deletionPolicy: ExternalSecretSpecTargetDeletionPolicy.RETAIN,
          template: { type: definition.type, engineVersion: ExternalSecretSpecTargetTemplateEngineVersion.V2, metadata: { labels } },
        },
        // One remote secret per id, one property per key, e.g. "prefect/prod/postgres-orion";
        // only the keys read in this namespace (relations may add some after construction).
        data: lazyList<ExternalSecretSpecData>(() =>
          this.keysOf(definition, read).map((key) => ({ secretKey: key, remoteRef: { key: `${remoteKeyPrefix}${id}`, property: key } })),
        ),
      },
    });
  }
}

export interface KubectlCommandOptions {
  /** The registry of the Prefect images (`prefect.image.registry`): its host is the pull secret's server. */
  readonly registry?: string;
}

/**
 * The `kubectl create secret` lines for the Secrets an environment reads (secrets.provider
 * "existing"): one generated value per Secret, created in every namespace that reads it.
 */
export function kubectlCommands(uses: readonly SecretUse[], options: KubectlCommandOptions = {}): string[] {
  const byId = new Map<string, SecretUse[]>();
  for (const use of uses) byId.set(use.id, [...(byId.get(use.id) ?? []), use]);
  const lines: string[] = [];
  for (const [id, list] of [...byId].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const definition = list[0]?.definition as SecretDefinition;
    const variable = (key: string) => `${id}_${key}`.toUpperCase().replace(/-/g, '_');
    // The installation's own passwords are random; a configured Secret's value is the user's.
    const generated = (key: string) => definition.keys.includes(key) && (key === 'password' || key === 'admin-password');
    const literal = (key: string) => {
      const fixed = definition.fixed?.[key];
      if (fixed !== undefined) return `--from-literal=${key}=${fixed}`;
      if (key === 'username' && definition.keys.includes(key)) return `--from-literal=${key}=postgres`;
      if (generated(key)) return `--from-literal=${key}="$${variable(key)}"`;
      return `--from-literal=${key}=<${key}>`;
    };
    lines.push(`# ${definition.description}`);
    if (definition.type === 'kubernetes.io/dockerconfigjson') {
      const server = options.registry?.split('/')[0] ?? '<registry>';
      for (const use of [...list].sort((a, b) => (a.namespace < b.namespace ? -1 : 1))) {
        lines.push(
          `kubectl --namespace ${use.namespace} create secret docker-registry ${use.name} --docker-server=${server} --docker-username=<user> --docker-password=<token>`,
        );
      }
      continue;
    }
    const keys = (definition.keys.length > 0 ? definition.keys : [...new Set(list.flatMap((use) => use.keys))]).filter((key) =>
      list.some((use) => use.keys.includes(key)),
    );
    for (const key of keys.filter(generated)) lines.push(`${variable(key)}=$(openssl rand -hex 32)`);
    for (const use of list.sort((a, b) => (a.namespace < b.namespace ? -1 : 1))) {
      lines.push(
        `kubectl --namespace ${use.namespace} create secret generic ${use.name} --type=${definition.type} ${use.keys.map(literal).join(' ')}`,
      );
    }
  }
  return lines;
}
