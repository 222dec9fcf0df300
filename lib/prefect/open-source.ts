/*
 * The open-source server's settings, as Prefect documents them (docs/v3/advanced/self-hosted and
 * the settings reference), derived from what the relations give a workload: the database URL,
 * the Redis instance's address and password. Names are Prefect's; values refer to the relations'
 * variables with `$(VAR)`, so no secret is ever copied.
 */
import type { EnvironmentConfig } from '../config/load';
import type { EnvValue } from '../core/data-client';
import { databaseEnvPrefix } from '../data/postgres/postgres-access';
import { redisEnvPrefix } from '../data/redis/redis-access';

/** The open-source edition's database and Redis instance (lib/catalog/services.ts). */
const DATABASE = 'prefect' as const;
const REDIS = 'messaging' as const;
/** Docket's keys on their own Redis database (self-hosted: "you may use a different database number"). */
const DOCKET_DATABASE = 1;
/** The broker's, the cache's, causal ordering's and the leases' database. */
const MESSAGING_DATABASE = 0;
/** Where the server writes the UI bundle it serves: the image's own folder is read-only here. */
export const UI_STATIC_DIRECTORY = '/tmp/prefect-ui';

const v = (name: string) => `$(${name})`;

/** The Redis settings of every server process (self-hosted, "Redis setup" and "Docket URL"). */
function redisSettings(tls: boolean): Array<[string, EnvValue]> {
  const redis = redisEnvPrefix(REDIS);
  const scheme = tls ? 'rediss' : 'redis';
  return [
    ['PREFECT_MESSAGING_BROKER', { value: 'prefect_redis.messaging' }],
    ['PREFECT_MESSAGING_CACHE', { value: 'prefect_redis.messaging' }],
    ['PREFECT_SERVER_EVENTS_CAUSAL_ORDERING', { value: 'prefect_redis.ordering' }],
    ['PREFECT_SERVER_CONCURRENCY_LEASE_STORAGE', { value: 'prefect_redis.lease_storage' }],
    ['PREFECT_REDIS_MESSAGING_HOST', { value: v(`${redis}_HOST`) }],
    ['PREFECT_REDIS_MESSAGING_PORT', { value: v(`${redis}_PORT`) }],
    ['PREFECT_REDIS_MESSAGING_DB', { value: String(MESSAGING_DATABASE) }],
    ['PREFECT_REDIS_MESSAGING_PASSWORD', { value: v(`${redis}_PASSWORD`) }],
    ...(tls ? ([['PREFECT_REDIS_MESSAGING_SSL', { value: 'true' }]] as Array<[string, EnvValue]>) : []),
    [
      'PREFECT_SERVER_DOCKET_URL',
      { value: `${scheme}://:${v(`${redis}_PASSWORD`)}@${v(`${redis}_HOST`)}:${v(`${redis}_PORT`)}/${DOCKET_DATABASE}` },
    ],
  ];
}

export interface OpenSourceSettingsOptions {
  /** The Redis instance speaks TLS (a managed service). */
  readonly redisTls: boolean;
  /** The Secret key of the API's basic auth (`user:password`), when it is on. */
  readonly authString?: { readonly name: string; readonly key: string };
  /** The API server (the UI's settings, metrics), not the background services. */
  readonly api: boolean;
}

/**
 * A server process's settings, after the relations' variables: the database (migrations run
 * apart, so never on start), Redis for messaging and Docket, the UI's API URL behind the two
 * hosts, basic auth, metrics, and no telemetry (the server has no way out of the cluster).
 */
export function openSourceSettings(config: EnvironmentConfig, options: OpenSourceSettingsOptions): Array<[string, EnvValue]> {
  const database = databaseEnvPrefix(DATABASE);
  return [
    ['PREFECT_API_DATABASE_CONNECTION_URL', { value: v(`${database}_URL`) }],
    // self-hosted, "Database migrations": "Disable automatic migrations in multi-server deployments".
    ['PREFECT_API_DATABASE_MIGRATE_ON_START', { value: 'false' }],
    ...redisSettings(options.redisTls),
    ['PREFECT_SERVER_ANALYTICS_ENABLED', { value: 'false' }],
    ...(options.authString
      ? ([['PREFECT_SERVER_API_AUTH_STRING', { secretKeyRef: options.authString }]] as Array<[string, EnvValue]>)
      : []),
    ...(options.api
      ? ([
          // self-hosted, "UI proxy settings": where the browser reaches the API, and the UI itself.
          ['PREFECT_UI_API_URL', { value: `https://${config.hostnames.api}/api` }],
          ['PREFECT_UI_URL', { value: `https://${config.hostnames.app}` }],
          ['PREFECT_UI_STATIC_DIRECTORY', { value: UI_STATIC_DIRECTORY }],
          // The UI on app.<domain> calls the API on api.<domain>: that origin only.
          ['PREFECT_SERVER_API_CORS_ALLOWED_ORIGINS', { value: `https://${config.hostnames.app}` }],
          ['PREFECT_SERVER_METRICS_ENABLED', { value: 'true' }],
        ] as Array<[string, EnvValue]>)
      : ([
          // The background services build the API app in process for their clients, and with it
          // the UI bundle, which they never serve: into the image's read-only package folder.
          ['PREFECT_SERVER_UI_ENABLED', { value: 'false' }],
        ] as Array<[string, EnvValue]>)),
  ];
}

/**
 * The migration Job's settings (self-hosted, "Database migrations"): the superuser's URL, and a
 * statement timeout for migrations as long as the Job may run.
 */
export function openSourceMigrationSettings(deadlineSeconds: number): Array<{ name: string; value: string }> {
  return [
    { name: 'PREFECT_API_DATABASE_CONNECTION_URL', value: v('MIGRATION_DATABASE_URL') },
    { name: 'PREFECT_SERVER_DATABASE_MIGRATION_TIMEOUT', value: String(deadlineSeconds) },
    { name: 'HOME', value: '/tmp' },
    { name: 'PREFECT_HOME', value: '/tmp/prefect' },
    { name: 'PREFECT_SERVER_ANALYTICS_ENABLED', value: 'false' },
  ];
}
