import type { Mesh } from '../mesh/identity';
import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import type { DatabaseName, RedisName, RedisRole } from '../catalog/services';
import type { DataClient } from '../core/data-client';
import { FLUX_PRUNE_DISABLED } from '../flux/annotations';
import { HashedJob } from '../flux/hashed-job';
import { asyncpgUrl, databaseEnvPrefix, SUPERUSER_ENV_PREFIX, type PostgresServer } from '../data/postgres/postgres-access';
import { PREFECT_USER } from './prefect-service';
import type { PrefectSecrets } from '../data/secrets/secrets';
import { toResourceRequirements } from '../core/resources';

/** The commands that migrate one database, run one after the other in the Job's pod. */
export type MigrationSteps = readonly (readonly string[])[];

/**
 * The migration commands of each database, in order; `prefect.migrations.commands` overrides them.
 * The subcommand `upgrade` (Alembic's verb, as in the open-source `prefect server database
 * upgrade`) and the events command are ASSUMPTIONS: the docs name the command groups only.
 */
export const DEFAULT_MIGRATION_STEPS: Readonly<Record<DatabaseName, MigrationSteps>> = {
  // reference/backend/database-migrations: "migrating the nebula database … prefect-cloud admin database …"
  nebula: [['prefect-cloud', 'admin', 'database', 'upgrade']],
  // reference/backend/database-migrations: "migrating the server database … prefect-cloud logic database …";
  // upgrade-guide (0.8.x to 1.x): the tag-concurrency migration runs `prefect-cloud self-managed update-orion`
  orion: [
    ['prefect-cloud', 'logic', 'database', 'upgrade'],
    ['prefect-cloud', 'self-managed', 'update-orion'],
  ],
  events: [['prefect-cloud', 'events', 'database', 'upgrade']],
  // docs/v3/advanced/self-hosted, "Database migrations": `prefect server database upgrade -y`.
  prefect: [['prefect', 'server', 'database', 'upgrade', '-y']],
};

/**
 * The Redis roles a database's migration uses. upgrade-guide (0.8.x to 1.x): "the
 * orion-db-migrations job now requires cache and concurrency-leases Redis environment variables".
 */
export const MIGRATION_REDIS: Readonly<Record<DatabaseName, readonly RedisRole[]>> = {
  nebula: [],
  orion: ['cache', 'concurrency-leases'],
  events: [],
  prefect: [],
};

/** What a migration Job needs of a Redis instance: the relation method of the data layer. */
export interface MigrationRedis {
  /** The instance that holds a role (`redis.roles`). */
  instanceFor(role: RedisRole): RedisName;
  readonly servers: Readonly<Record<RedisName, { allowFrom(client: DataClient, role?: RedisRole): void }>>;
}

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
  /** @default DEFAULT_MIGRATION_STEPS of the database */
  readonly steps?: MigrationSteps;
  /** The Redis instances, for the roles of MIGRATION_REDIS. */
  readonly redis: MigrationRedis;
  /**
   * Extra environment of every step (`prefect.migrations.env`), after the relations' variables.
   * @default - none
   */
  readonly env?: ReadonlyArray<{ readonly name: string; readonly value?: string; readonly valueFrom?: k8s.EnvVarSource }>;
  readonly labels: Record<string, string>;
  /** The Prefect release the image runs. */
  readonly version: string;
  /** How long the migration may run, retries included (the Job's activeDeadlineSeconds). */
  readonly deadlineSeconds: number;
  readonly mesh: Mesh;
}

/**
 * Migrates one database's schema to the release's version, as the superuser (a service user
 * runs the services, a superuser runs migrations), step by step: every step but the last is an
 * init container, so a step starts only once the one before it has succeeded. Idempotent: a
 * migration tool applies only what is missing. A hash-named Job (lib/flux/hashed-job.ts),
 * "migrate-<database>-<hash>": a new image tag is a new Job. Flux never prunes it.
 */
export class MigrationJob extends HashedJob {
  constructor(scope: Construct, id: string, props: MigrationJobProps) {
    const { database, namespace, postgres } = props;
    const containers: k8s.Container[] = stepContainers(props.steps ?? DEFAULT_MIGRATION_STEPS[database]).map((step) => ({
      ...step,
      image: props.image,
      resources: toResourceRequirements({ requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '1Gi' } }),
      ...(props.env && props.env.length > 0 ? { env: [...props.env] } : {}),
      volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
    }));
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
        for (const role of MIGRATION_REDIS[database]) props.redis.servers[props.redis.instanceFor(role)].allowFrom(client, role);
      },
      runAs: PREFECT_USER,
      imagePullSecrets: props.secrets.imagePullSecrets(namespace),
      podAnnotations: props.secrets.revisionAnnotation,
      initContainers: containers.slice(0, -1),
      container: containers.at(-1) as k8s.Container,
      volumes: [{ name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } }],
      // Retries cover a server restart; a failing migration stops the layer (Flux `wait`), so
      // the services never roll out onto a half-migrated database.
      backoffLimit: 3,
      activeDeadlineSeconds: props.deadlineSeconds,
      // Flux prunes a Job that leaves the layer, running or not; a migration must finish.
      // The next release's cleanup (MigrationCleanup) deletes it once that release has migrated.
      annotations: FLUX_PRUNE_DISABLED,
    });
  }
}

/**
 * One container per step, named after what it runs ("upgrade", "update-orion"), unique in the
 * pod: the first is always "migrate", so logs read `kubectl logs job/<name> -c migrate`.
 */
function stepContainers(steps: MigrationSteps): Array<{ name: string; command: string[] }> {
  if (steps.length === 0) throw new Error('a migration needs at least one command');
  const used = new Set<string>();
  return steps.map((command, index) => {
    const word =
      (command.at(-1) ?? 'step')
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, '-')
        .replace(/^-+|-+$/g, '')
        .slice(0, 40) || 'step';
    let name = index === 0 ? 'migrate' : word === 'migrate' ? `step-${index + 1}` : word;
    if (used.has(name)) name = `step-${index + 1}`;
    used.add(name);
    return { name, command: [...command] };
  });
}
