import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../lib/config/load';
import { variantText } from '../config-variants';

/* The data layer's configuration: every validation has a "fails …" test naming field and fix. */

function problemsOf(changes: Record<string, unknown>): readonly string[] {
  try {
    parseConfig(variantText('dev', changes), 'config/dev.yaml', 'dev');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('data layer configuration', () => {
  it('accepts the providers and their settings', () => {
    const config = parseConfig(
      variantText('dev', {
        postgres: {
          provider: 'cloudnativepg',
          instances: 3,
          backup: { destinationPath: 's3://backups/prefect/dev', credentials: 'iam-role' },
        },
        cluster: { nodes: 3 },
        redis: { cache: { provider: 'external', external: { host: 'cache.example.com' } } },
        secrets: { provider: 'external-secrets', store: { name: 'vault' }, names: { 'postgres-superuser': 'pg-admin' } },
      }),
      'config/dev.yaml',
      'dev',
    );
    expect(config.postgres.backup).toEqual({
      destinationPath: 's3://backups/prefect/dev',
      credentials: 'iam-role',
      schedule: '0 0 2 * * *',
      retentionPolicy: '30d',
    });
    expect(config.redis.cache.external).toEqual({ host: 'cache.example.com', port: 6379, tls: true });
    expect(config.redis.cache.version).toBe('7.4.6');
    expect(config.secrets.names).toEqual({ 'postgres-superuser': 'pg-admin' });
  });

  it('fails on a PostgreSQL version below 15', () => {
    expect(problemsOf({ postgres: { version: '14.12' } })).toEqual([
      'config/dev.yaml: postgres.version: expected a full PostgreSQL version 15 or newer, such as "17.6", got "14.12"',
    ]);
  });

  it('fails on a major version alone (the image tag must be pinned)', () => {
    expect(problemsOf({ postgres: { version: '17' } })).toEqual([
      'config/dev.yaml: postgres.version: expected a full PostgreSQL version 15 or newer, such as "17.6", got "17"',
    ]);
  });

  it('fails on replicas for the StatefulSet provider', () => {
    expect(problemsOf({ postgres: { instances: 3 } })).toEqual([
      'config/dev.yaml: postgres.instances: expected 1 unless provider is "cloudnativepg" (the StatefulSet runs one server; CloudNativePG runs replicas), got number 3',
    ]);
  });

  it('defaults the pool assumption to SQLAlchemy\'s (5 + 10), the secrets revision to "1", and reads a bare number as a revision', () => {
    const defaults = parseConfig(variantText('dev', {}), 'config/dev.yaml', 'dev');
    expect(defaults.postgres.pool).toEqual({ size: 5, maxOverflow: 10 });
    expect(defaults.postgres.instances).toBeUndefined();
    expect(defaults.secrets.revision).toBe('1');
    const bumped = parseConfig(
      variantText('dev', { secrets: { revision: 2 }, postgres: { pool: { maxOverflow: 0 } } }),
      'config/dev.yaml',
      'dev',
    );
    expect(bumped.secrets.revision).toBe('2');
    expect(bumped.postgres.pool).toEqual({ size: 5, maxOverflow: 0 });
  });

  it('fails on more CloudNativePG instances than nodes', () => {
    expect(problemsOf({ postgres: { provider: 'cloudnativepg', instances: 3 } })).toEqual([
      'config/dev.yaml: postgres.instances: expected at most cluster.nodes (1): CloudNativePG places one instance per node, and instances sharing a node fail together, got number 3',
    ]);
  });

  it('fails on a secrets revision that is not a simple word', () => {
    expect(problemsOf({ secrets: { revision: 'after rotation' } })).toEqual([
      'config/dev.yaml: secrets.revision: expected a revision such as "2" (letters, digits, "-", "_" and "."), got "after rotation"',
    ]);
  });

  it('fails on a pool of no connections', () => {
    expect(problemsOf({ postgres: { pool: { size: 0 } } })).toEqual([
      'config/dev.yaml: postgres.pool.size: expected at least 1 connection, got number 0',
    ]);
  });

  it('fails on a backup without CloudNativePG', () => {
    expect(problemsOf({ postgres: { backup: { destinationPath: 's3://backups/prefect' } } })).toEqual([
      'config/dev.yaml: postgres.backup: expected only with provider "cloudnativepg" (back up other servers with their own tooling)',
    ]);
  });

  it('fails on a backup destination that is not an S3 URL, and on a five-field cron', () => {
    expect(
      problemsOf({ postgres: { provider: 'cloudnativepg', backup: { destinationPath: 'backups/prefect', schedule: '0 2 * * *' } } }),
    ).toEqual([
      'config/dev.yaml: postgres.backup.destinationPath: expected an S3 URL such as "s3://backups/prefect/prod", got "backups/prefect"',
      'config/dev.yaml: postgres.backup.schedule: expected a six-field cron expression (seconds first) such as "0 0 2 * * *", got "0 2 * * *"',
    ]);
  });

  it('fails on a cron field out of its range, naming the field, in either schedule', () => {
    expect(
      problemsOf({
        postgres: { provider: 'cloudnativepg', backup: { destinationPath: 's3://backups/prefect', schedule: '0 0 25 * * *' } },
      }),
    ).toEqual([
      'config/dev.yaml: postgres.backup.schedule: expected a valid cron schedule: the hour field "25": "25" is not in 0–23, got "0 0 25 * * *"',
    ]);
    expect(problemsOf({ postgres: { logicalBackup: { schedule: '0 3 * 13 *' } } })).toEqual([
      'config/dev.yaml: postgres.logicalBackup.schedule: expected a valid cron schedule: the month field "13": "13" is not in 1–12, got "0 3 * 13 *"',
    ]);
    // CloudNativePG's cron library takes "?" for "any day".
    expect(() =>
      problemsOf({
        postgres: { provider: 'cloudnativepg', backup: { destinationPath: 's3://backups/prefect', schedule: '0 30 1 ? * sun' } },
      }),
    ).toThrow('expected the configuration to be rejected');
  });

  it('fails on an external server without the external provider', () => {
    expect(problemsOf({ postgres: { external: { host: 'db.example.com', caSecret: 'db-ca' } } })).toEqual([
      'config/dev.yaml: postgres.external: expected only with provider "external"',
    ]);
  });

  it.each(['verify-ca', 'verify-full'])('fails on sslMode %s without the CA Secret (asyncpg verifies only against a file)', (sslMode) => {
    expect(problemsOf({ postgres: { provider: 'external', external: { host: 'db.example.com', sslMode } } })).toEqual([
      `config/dev.yaml: postgres.external.caSecret: required: expected a CA Secret with sslMode "${sslMode}" (its key ca.crt is the CA of the server's certificate: the services' driver, asyncpg, verifies only against a CA file)`,
    ]);
    expect(() => problemsOf({ postgres: { provider: 'external', external: { host: 'db.example.com', sslMode: 'require' } } })).toThrow(
      'expected the configuration to be rejected',
    );
  });

  it('fails on too few connections', () => {
    expect(problemsOf({ postgres: { maxConnections: 5 } })).toEqual([
      'config/dev.yaml: postgres.maxConnections: expected at least 20 connections, got number 5',
    ]);
  });

  it('fails on a Redis memory limit without headroom over maxmemory, naming the minimum', () => {
    expect(
      problemsOf({
        redis: { streams: { memory: '512Mi', resources: { requests: { cpu: '50m', memory: '512Mi' }, limits: { memory: '512Mi' } } } },
      }),
    ).toEqual([
      'config/dev.yaml: redis.streams.resources.limits.memory: expected at least 640Mi (memory × 1.25: Redis needs headroom over maxmemory), got "512Mi"',
    ]);
  });

  it('fails on Redis resources without a memory limit', () => {
    expect(problemsOf({ redis: { cache: { resources: { requests: { cpu: '50m', memory: '320Mi' }, limits: null } } } })).toEqual([
      "config/dev.yaml: redis.cache.resources.limits.memory: required: expected a memory limit (Redis's maxmemory must fit under it)",
    ]);
  });

  it('fails on a Redis version other than a full 7.x', () => {
    expect(problemsOf({ redis: { work: { version: '6.2.14' } } })).toEqual([
      'config/dev.yaml: redis.work.version: expected a full Redis 7 version such as "7.4.6", got "6.2.14"',
    ]);
  });

  it('fails on an external Redis server without the external provider', () => {
    expect(problemsOf({ redis: { cache: { external: { host: 'cache.example.com' } } } })).toEqual([
      'config/dev.yaml: redis.cache.external: expected only with provider "external"',
    ]);
  });

  it('fails on a Secret name for an unknown id', () => {
    expect(problemsOf({ secrets: { names: { 'postgres-superusr': 'pg-admin' } } })).toEqual([
      'config/dev.yaml: secrets.names.postgres-superusr: unknown key; did you mean "postgres-superuser"?',
    ]);
  });

  it('fails on a Secret name that is not a Kubernetes name', () => {
    expect(problemsOf({ secrets: { names: { 'redis-cache': 'Redis_Cache' } } })).toEqual([
      'config/dev.yaml: secrets.names.redis-cache: expected a Kubernetes object name: lower-case letters, digits, "-" and ".", such as "prefect-postgres", got a string of 11 characters (not shown: "names" holds or names a secret)',
    ]);
  });
});
