import { METRICS_ROLE } from '../data/postgres/postgres-exporter';
import type { RequiredSecret } from '../core/required-secret';
import type { Construct } from 'constructs';
import { databasesOf, redisInstanceFor, redisInstancesOf, type RedisName } from '../catalog/services';
import { CLOUDNATIVE_PG_METRICS_ROLE, CloudNativePostgres, defaultInstances } from '../data/postgres/cloudnative-pg';
import { DatabaseInitJob } from '../data/postgres/database-init-job';
import { LogicalBackup } from '../data/postgres/logical-backup';
import { ExternalPostgres } from '../data/postgres/external-postgres';
import { ExternalRedis } from '../data/redis/external-redis';
import { Postgres, POSTGRES_IMAGE_REPOSITORY } from '../data/postgres/postgres';
import type { PostgresServer } from '../data/postgres/postgres-access';
import { connectionBudget } from '../data/postgres/postgres-config';
import { Redis } from '../data/redis/redis';
import type { RedisServer } from '../data/redis/redis-access';
import { PrefectSecrets } from '../data/secrets/secrets';
import type { ResolvedService } from '../prefect/service-catalog';
import { LayerChart, type LayerChartProps } from './layer-chart';

export interface DataChartProps extends LayerChartProps {
  /** The environment's resolved service catalog: its connection pools size PostgreSQL. */
  readonly catalog: readonly ResolvedService[];
}

/**
 * Layer 3: PostgreSQL (StatefulSet, CloudNativePG or external) with its databases, the three
 * Redis instances, and the Secrets they read. Later layers connect their workloads through the
 * relation methods of `postgres` and `redis.*`, which open these servers' policies.
 */
export class DataChart extends LayerChart {
  public readonly secrets: PrefectSecrets;
  public readonly postgres: PostgresServer;
  public readonly redis: Readonly<Record<RedisName, RedisServer>>;
  /**
   * The init Jobs: the databases, their roles and privileges; with CloudNativePG, which declares
   * the databases and roles itself, the privileges only.
   */
  public readonly initJobs: readonly DatabaseInitJob[];
  /** max_connections of an in-cluster server (none for an external one). */
  public readonly maxConnections?: number;
  /** The scheduled pg_dump, where configured. */
  public readonly logicalBackup?: LogicalBackup;
  /** The Secrets of this layer that the user creates beside the catalog's: an external server's CA. */
  public readonly requiredSecrets: readonly RequiredSecret[];

  constructor(scope: Construct, props: DataChartProps) {
    super(scope, 'data', props);
    const { namespaces, postgres, redis, cluster } = this.config;
    const labelsFor = this.labelsFor.bind(this);
    const namespace = namespaces.data;
    const mesh = this.mesh;

    this.secrets = new PrefectSecrets(this, 'Secrets', {
      config: this.config.secrets,
      labelsFor,
      imagePullSecret: this.config.prefect.image.pullSecret,
    });
    const databases = databasesOf(this.config.edition);
    const maxConnections = postgres.maxConnections ?? connectionBudget(props.catalog, postgres.pool, databases);
    if (postgres.provider !== 'external') this.maxConnections = maxConnections;
    const common = { namespace, secrets: this.secrets, labelsFor };

    switch (postgres.provider) {
      case 'statefulset':
        this.postgres = new Postgres(this, 'Postgres', {
          ...common,
          version: postgres.version,
          resources: postgres.resources,
          storage: postgres.storage,
          maxConnections,
          databases,
          mesh,
          exporter: this.config.monitoring.enabled,
        });
        break;
      case 'cloudnativepg':
        this.postgres = new CloudNativePostgres(this, 'Postgres', {
          ...common,
          version: postgres.version,
          instances: postgres.instances ?? defaultInstances(cluster),
          resources: postgres.resources,
          storage: postgres.storage,
          maxConnections,
          databases,
          zones: cluster.zones,
          backup: postgres.backup,
          mesh,
        });
        break;
      case 'external': {
        const external = postgres.external;
        if (!external) throw new Error('postgres.external is required with provider "external" (the schema checks this)');
        this.postgres = new ExternalPostgres(this, 'Postgres', {
          caSecret: external.caSecret,
          ...common,
          host: external.host,
          port: external.port,
          sslMode: external.sslMode,
        });
        break;
      }
    }

    // One Job per database. CloudNativePG declares the databases and roles, not privileges (its
    // Database resource has none, and bootstrap SQL runs once, in one database, before the
    // roles exist): there the Job waits for the database and sets the privileges only.
    // Every database client verifies the server with it: the init and migration Jobs here, the
    // services in theirs.
    const caSecret = postgres.provider === 'external' ? postgres.external?.caSecret : undefined;
    this.requiredSecrets = caSecret
      ? [namespace, namespaces.prefect].map((reader) => ({
          namespace: reader,
          name: caSecret,
          purpose: `the CA certificate of the external PostgreSQL server ${postgres.external?.host}, under ca.crt (postgres.external.caSecret), for the database clients in ${reader}`,
          command: `kubectl --namespace ${reader} create secret generic ${caSecret} --from-file=ca.crt=<CA certificate file>`,
        }))
      : [];
    this.initJobs = databases.map(
      (database) =>
        new DatabaseInitJob(this, `Init-${database}`, {
          postgres: this.postgres,
          database,
          namespace,
          image: `${POSTGRES_IMAGE_REPOSITORY}:${postgres.version}`,
          version: postgres.version,
          labelsFor,
          mesh,
          secrets: this.secrets,
          createDatabase: postgres.provider !== 'cloudnativepg',
          ...(this.config.monitoring.enabled && postgres.provider === 'statefulset' ? { metricsRole: METRICS_ROLE } : {}),
          ...(postgres.provider === 'cloudnativepg' ? { operatorMetricsRole: CLOUDNATIVE_PG_METRICS_ROLE } : {}),
        }),
    );

    if (postgres.logicalBackup && postgres.provider !== 'cloudnativepg') {
      const { schedule, keep, storage } = postgres.logicalBackup;
      this.logicalBackup = new LogicalBackup(this, 'LogicalBackup', {
        postgres: this.postgres,
        databases,
        namespace,
        image: `${POSTGRES_IMAGE_REPOSITORY}:${postgres.version}`,
        version: postgres.version,
        labelsFor,
        mesh,
        schedule,
        keep,
        storage,
      });
    }

    // The instance with the streams: the open-source messaging broker, whose streams the catalog
    // names (its exporter reports those by name), or Customer-Managed's streams instance, whose
    // streams Prefect does not document (its exporter scans for every stream).
    const openSource = this.config.edition === 'open-source';
    const streamsInstance = redisInstanceFor(this.config.redis.roles, openSource ? 'messaging' : 'streams');
    const streamNames = [...new Set(props.catalog.flatMap((service) => (service.backlog ?? []).map((consumer) => consumer.stream)))].sort();
    const servers = redisInstancesOf(this.config.edition).map((instance): [RedisName, RedisServer] => {
      const settings = redis[instance];
      if (settings.provider === 'external') {
        const external = settings.external;
        if (!external) throw new Error(`redis.${instance}.external is required with provider "external" (the schema checks this)`);
        return [
          instance,
          new ExternalRedis(this, `Redis-${instance}`, {
            ...common,
            instance,
            host: external.host,
            port: external.port,
            tls: external.tls,
          }),
        ];
      }
      return [
        instance,
        new Redis(this, `Redis-${instance}`, {
          ...common,
          instance,
          version: settings.version,
          memory: settings.memory,
          resources: settings.resources,
          // Cache: evict, keep nothing. Work queues and streams: keep everything.
          persistent: instance !== 'cache',
          storage: settings.storage,
          mesh,
          exporter: this.config.monitoring.enabled,
          ...(instance === streamsInstance ? { streams: openSource && streamNames.length > 0 ? streamNames : 'all' } : {}),
        }),
      ];
    });
    this.redis = Object.fromEntries(servers) as Record<RedisName, RedisServer>;
  }
}
