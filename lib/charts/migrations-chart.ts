import type { Construct } from 'constructs';
import { databasesOf, type DatabaseName } from '../catalog/services';
import { openSourceMigrationSettings } from '../prefect/open-source';
import { durationMilliseconds } from '../core/duration';
import { MigrationJob } from '../prefect/migration-job';
import { MigrationCleanup } from '../prefect/migration-cleanup';
import type { LayerHealthChecks } from '../flux/flux-layer';
import type { PostgresServer } from '../data/postgres/postgres-access';
import type { RedisServer } from '../data/redis/redis-access';
import { redisInstanceFor, type RedisName } from '../catalog/services';
import { toEnvVars } from '../core/data-client';
import { instanceName, LABEL } from '../core/labels';
import type { PrefectSecrets } from '../data/secrets/secrets';
import { prefectImage } from '../prefect/service-catalog';
import { LayerChart, type LayerChartProps } from './layer-chart';

export interface MigrationsChartProps extends LayerChartProps {
  readonly postgres: PostgresServer;
  /** The installation's Secrets (the image pull secret, `secrets.revision`, configured Secrets). */
  readonly secrets: PrefectSecrets;
  /** The Redis instances, for the roles a migration uses (MIGRATION_REDIS). */
  readonly redis: Readonly<Record<RedisName, RedisServer>>;
}

/**
 * Layer 4: one schema-migration Job per database. Flux applies this layer after `data` (the
 * databases exist) and before `prefect`, and it is ready once every migration Job is complete,
 * so the services roll out only onto migrated databases. Flux never prunes a migration Job; the
 * cleanup Job deletes earlier releases' Jobs once this release has migrated.
 */
/** What Flux allows beyond the longest migration: scheduling the pods, pulling the image, observing the end. */
const LAYER_TIMEOUT_MARGIN_SECONDS = 600;

export class MigrationsChart extends LayerChart {
  public readonly jobs: readonly MigrationJob[];
  /** The layer's Flux timeout: the longest migration's deadline and a margin, never below flux.timeout. */
  public readonly layerTimeout: string;
  /** The layer is ready once every migration Job is (not waiting for the cleanup of earlier ones). */
  public readonly readiness: LayerHealthChecks;

  constructor(scope: Construct, props: MigrationsChartProps) {
    super(scope, 'migrations', props);
    const { config } = this;
    const overrides = config.prefect.migrations;
    const namespace = config.namespaces.data;
    const env = toEnvVars(
      new Map(
        Object.entries(overrides.env ?? {}).map(([name, setting]) => [
          name,
          typeof setting === 'string'
            ? { value: setting }
            : { secretKeyRef: props.secrets.configuredKeyRef(setting.secret, setting.key, namespace, `prefect.migrations.env.${name}`) },
        ]),
      ),
    );
    const databases = databasesOf(config.edition);
    const openSource = config.edition === 'open-source';
    const deadlineSeconds = (database: DatabaseName) => Math.ceil((durationMilliseconds(overrides.deadlines[database]) as number) / 1000);
    this.jobs = databases.map(
      (database) =>
        new MigrationJob(this, database, {
          postgres: props.postgres,
          database,
          namespace,
          image: prefectImage(config, openSource ? 'prefect' : 'server'),
          secrets: props.secrets,
          steps: overrides.commands?.[database],
          redis: { servers: props.redis, instanceFor: (role) => redisInstanceFor(config.redis.roles, role) },
          env: [...(openSource ? openSourceMigrationSettings(deadlineSeconds(database)) : []), ...env],
          labels: this.labelsFor({ name: `migrate-${database}`, component: 'migration' }),
          version: config.prefect.image.tag,
          deadlineSeconds: deadlineSeconds(database),
          mesh: this.mesh,
        }),
    );
    if (overrides.cleanup.enabled) {
      new MigrationCleanup(this, 'cleanup', {
        namespace,
        labels: this.labelsFor({ name: 'migrations-cleanup', component: 'migration-cleanup' }),
        migrationSelector: { [LABEL.instance]: instanceName(config.environment), [LABEL.component]: 'migration' },
        jobNames: this.jobs.map((job) => job.jobName),
        deadlineSeconds: Math.max(...databases.map(deadlineSeconds)),
        kubectlVersion: overrides.cleanup.kubectlVersion,
        apiServer: { ranges: config.cluster.apiServer.ranges ?? config.cluster.privateRanges, ports: config.cluster.apiServer.ports },
        mesh: this.mesh,
      });
    }
    this.readiness = {
      healthChecks: this.jobs.map((job) => ({ apiVersion: 'batch/v1', kind: 'Job', name: job.jobName, namespace })),
    };
    const longest = Math.max(...databases.map(deadlineSeconds)) + LAYER_TIMEOUT_MARGIN_SECONDS;
    const general = Math.ceil((durationMilliseconds(config.flux.timeout) as number) / 1000);
    this.layerTimeout = `${Math.ceil(Math.max(longest, general) / 60)}m`;
  }
}
