import type { Mesh } from '../mesh/identity';
import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import type { DatabaseName } from '../catalog/services';
import { HashedJob } from '../flux/hashed-job';
import { asyncpgUrl, databaseEnvPrefix, SUPERUSER_ENV_PREFIX, type PostgresServer } from '../data/postgres/postgres-access';
import { PREFECT_USER } from './prefect-service';
import type { PrefectSecrets } from '../data/secrets/secrets';
import { toResourceRequirements } from '../core/resources';

/**
 * ASSUMPTION (not in Prefect's public docs): the server image migrates one database with
 * `prefect-cloud migrate <database>`, reading MIGRATION_DATABASE_URL. Check it against the
 * release in use; `prefect.migrations` can override the command.
 */
export const DEFAULT_MIGRATION_COMMAND: readonly string[] = ['prefect-cloud', 'migrate'];

export interface MigrationJobProps {
  readonly postgres: PostgresServer;
  readonly database: DatabaseName;
  /**
   * The data namespace: the superuser Secret never leaves it, so the Job runs there.
   */
  readonly namespace: string;
  /** The server image, e.g. "registry.example.com/prefect/cloud/server:2026.11.1". */
  readonly image: string;
  /** The image pull secret (when configured) and `secrets.revision`, which reruns the Job. */
  readonly secrets: PrefectSecrets;
  /** @default DEFAULT_MIGRATION_COMMAND followed by the database's name */
  readonly command?: readonly string[];
  readonly labels: Record<string, string>;
  /** The Prefect release the image runs. */
  readonly version: string;
  /** How long the migration may run, retries included (the Job's activeDeadlineSeconds). */
  readonly deadlineSeconds: number;
  readonly mesh: Mesh;
}

/**
 * Migrates one database's schema to the release's version, as the superuser (a service user
 * runs the services, a superuser runs migrations). Idempotent: a migration tool applies only
 * what is missing. A hash-named Job (lib/flux/hashed-job.ts), "migrate-<database>-<hash>": a new
 * image tag is a new Job.
 */
export class MigrationJob extends HashedJob {
  constructor(scope: Construct, id: string, props: MigrationJobProps) {
    const { database, namespace, postgres } = props;
    super(scope, id, {
      baseName: `migrate-${database}`,
      namespace,
      labels: props.labels,
      version: props.version,
      mesh: props.mesh,
      connect: (client) => {
        postgres.grantSuperuser(client);
        postgres.grantDatabase(client, database);
        // The superuser, connected to this database. The tables, sequences and functions the tool
        // creates belong to the superuser (in PostgreSQL, to their creator, not to the database's
        // owner); the init Job's default privileges give the database's role what the services
        // need on them, without ownership, so row-level security applies to the role.
        client.addEnv('MIGRATION_DATABASE_URL', { value: asyncpgUrl(SUPERUSER_ENV_PREFIX, databaseEnvPrefix(database), postgres.sslMode) });
      },
      runAs: PREFECT_USER,
      imagePullSecrets: props.secrets.imagePullSecrets(namespace),
      podAnnotations: props.secrets.revisionAnnotation,
      container: {
        name: 'migrate',
        image: props.image,
        command: [...(props.command ?? [...DEFAULT_MIGRATION_COMMAND, database])],
        resources: toResourceRequirements({ requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '1Gi' } }),
        volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
      },
      volumes: [{ name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } }],
      // Retries cover a server restart; a failing migration stops the layer (Flux `wait`), so
      // the services never roll out onto a half-migrated database.
      backoffLimit: 3,
      activeDeadlineSeconds: props.deadlineSeconds,
    });
  }
}
