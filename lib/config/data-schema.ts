/*
 * The data sections of the configuration: PostgreSQL, Redis and the Secrets they read.
 */
import { z } from 'zod';
import { cronScheduleProblem } from '../core/cron';
import { formatBytes, isQuantity, parseQuantity } from '../core/quantity';
import { SECRET_CATALOG, SECRET_IDS, defaultSecretName, type NamedSecretId } from '../catalog/secrets';
import { SHARED_REDIS_ROLES } from '../catalog/services';
import { forbid, need, rule, whenFields } from './json-rules';
import { dnsLabel, duration, hostname, MAX_MEMORY, MAX_VOLUME, objectName, quantity, resources } from './fields';

/*
 * ---- Data layer: PostgreSQL and Redis (lib/data/postgres/postgres.ts, lib/data/redis/redis.ts and their providers) ----
 */

const externalPostgres = z
  .strictObject({
    host: hostname.describe("The server's DNS name, e.g. a managed service's endpoint."),
    port: z.int().min(1).max(65535).default(5432).describe("The server's port."),
    sslMode: z
      .enum(['disable', 'require', 'verify-ca', 'verify-full'])
      .default('verify-full')
      .describe("How clients check the server: libpq's sslmode, mapped to asyncpg's for the services."),
    caSecret: objectName
      .optional()
      .describe(
        "A Secret whose key `ca.crt` is the CA of the server's certificate (a managed service's bundle, e.g. RDS's regional one), created in the data and the Prefect namespaces: every database client verifies the server with it (PGSSLROOTCERT). Required with \"verify-ca\" and \"verify-full\": the services' driver, asyncpg, has no fallback to the system's CA store.",
      ),
  })
  .superRefine((external, context) => {
    if ((external.sslMode === 'verify-ca' || external.sslMode === 'verify-full') && external.caSecret === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['caSecret'],
        message: `expected a CA Secret with sslMode "${external.sslMode}" (its key ca.crt is the CA of the server's certificate: the services' driver, asyncpg, verifies only against a CA file)`,
      });
    }
  })
  .meta({ allOf: [rule(whenFields({ sslMode: [['verify-ca', 'verify-full'], 'verify-full'] }), need('caSecret'))] });

/** The CloudNativePG Cluster's name (lib/data/postgres/cloudnative-pg.ts): its backups' default serverName. */
export const CLOUDNATIVE_PG_CLUSTER_NAME = 'postgres';

/** A cron schedule's fields in their ranges (the pattern checks only their shape). */
const cronFields =
  (withSeconds: boolean) =>
  (schedule: string, context: z.RefinementCtx): void => {
    // A wrong number of fields is the pattern's to report.
    if (schedule.trim().split(/\s+/).length !== (withSeconds ? 6 : 5)) return;
    const problem = cronScheduleProblem(schedule, withSeconds);
    if (problem) context.addIssue({ code: 'custom', message: `expected a valid cron schedule: ${problem}` });
  };

const postgresBackup = z.strictObject({
  destinationPath: z
    .string()
    .regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[A-Za-z0-9._/-]*)?$/, {
      error: 'expected an S3 URL such as "s3://backups/prefect/prod"',
    })
    .describe('Where base backups and WAL go: an S3 or S3-compatible URL.'),
  endpointURL: z
    .string()
    .regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, { error: 'expected an http(s) URL such as "https://minio.example.com"' })
    .optional()
    .describe('An S3-compatible endpoint (MinIO, Ceph …); omit for AWS S3.'),
  credentials: z
    .enum(['secret', 'iam-role'])
    .default('secret')
    .describe(
      '"secret": the keys of the Secret named postgres-backup in lib/catalog/secrets.ts; "iam-role": the pods\' cloud identity (e.g. EKS Pod Identity).',
    ),
  schedule: z
    .string()
    .regex(/^\S+( \S+){5}$/, { error: 'expected a six-field cron expression (seconds first) such as "0 0 2 * * *"' })
    .superRefine(cronFields(true))
    .default('0 0 2 * * *')
    .describe("CloudNativePG's cron format: six fields, seconds first."),
  retentionPolicy: z
    .string()
    .regex(/^[1-9]\d*[dwm]$/, { error: 'expected a retention such as "30d", "4w" or "6m"' })
    .default('30d')
    .describe('How long backups and WAL are kept: days, weeks or months.'),
  serverName: dnsLabel
    .optional()
    .describe(
      "The folder of this cluster's backups and WAL in the object store (the plugin's serverName); default the cluster's name, postgres. A cluster recovered from backups writes under a new one.",
    ),
  recovery: z
    .strictObject({
      serverName: dnsLabel.describe("The folder of the backups to recover from, in the same object store (the old cluster's serverName)."),
      targetTime: z
        .string()
        .regex(/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/, {
          error: 'expected an RFC 3339 time with its offset, such as "2026-11-30T14:05:00Z"',
        })
        .optional()
        .describe('Point-in-time recovery: replay the WAL up to this time (RFC 3339); omit to replay all of it.'),
    })
    .optional()
    .describe(
      'Bootstrap the Cluster from the backups of `serverName` instead of an empty database (README, "Restoring CloudNativePG"). CloudNativePG reads it only when it creates the Cluster.',
    ),
});

export const postgres = z
  .strictObject({
    provider: z
      .enum(['statefulset', 'cloudnativepg', 'external'])
      .default('statefulset')
      .describe('Where PostgreSQL runs: a StatefulSet this project writes, a CloudNativePG Cluster, or a server outside the cluster.'),
    version: z
      .string()
      .regex(/^1[5-9]\.\d+$/, { error: 'expected a full PostgreSQL version 15 or newer, such as "17.6"' })
      .default('17.6')
      .describe(
        'The official `postgres` image tag: a full version. 15 or newer: the init Jobs read passwords with psql\'s `\\getenv`. With "external", only the init Jobs\' client uses it.',
      ),
    storage: z
      .strictObject({
        size: quantity('100Gi', MAX_VOLUME)
          .default('20Gi')
          .describe("The size of the data volume (of each instance's, with CloudNativePG)."),
        storageClass: objectName.optional().describe("The data volume's StorageClass; omit to use the cluster's default storage class."),
      })
      .prefault({})
      .describe('The data volume.'),
    resources: resources
      .prefault({ requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '1Gi' } })
      .describe(
        'CPU and memory of the server (of each instance, with CloudNativePG); its memory sizes shared_buffers and the other memory settings.',
      ),
    maxConnections: z
      .int()
      .min(20, { error: 'expected at least 20 connections' })
      .max(5000)
      .optional()
      .describe("Omit to size it for the Prefect services' connection pools (lib/data/postgres/postgres-config.ts)."),
    pool: z
      .strictObject({
        size: z
          .int()
          .min(1, { error: 'expected at least 1 connection' })
          .max(1000)
          .default(5)
          .describe("Connections kept open (SQLAlchemy's pool_size)."),
        maxOverflow: z
          .int()
          .min(0)
          .max(1000)
          .default(10)
          .describe("Connections opened beyond `size` under load (SQLAlchemy's max_overflow)."),
      })
      .prefault({})
      .describe(
        "The connections each Prefect process may open per database it uses, for sizing max_connections. ASSUMPTION: SQLAlchemy's defaults, a pool of 5 and up to 10 more under load.",
      ),
    instances: z
      .int()
      .min(1, { error: 'expected at least 1 instance' })
      .optional()
      .describe(
        'CloudNativePG instances (1 primary + replicas). Omit for 3 on a cluster with more than one zone (one per node when there are fewer nodes), 1 otherwise.',
      ),
    backup: postgresBackup.optional().describe('CloudNativePG: base backups and WAL archiving to an object store, and a ScheduledBackup.'),
    logicalBackup: z
      .strictObject({
        schedule: z
          .string()
          .regex(/^[0-9*/,A-Za-z-]+( +[0-9*/,A-Za-z-]+){4}$/, { error: 'expected a cron schedule of five fields, such as "0 3 * * *"' })
          .superRefine(cronFields(false))
          .default('0 3 * * *')
          .describe('When the backup runs (cron, UTC).'),
        keep: z
          .int()
          .min(1)
          .max(365)
          .default(7)
          .describe('How many complete backups stay on the volume; the oldest beyond goes once a new one is complete.'),
        storage: z
          .strictObject({
            size: quantity('50Gi', MAX_VOLUME)
              .default('20Gi')
              .describe('The size of the volume of backups: `keep` times the dumps of all databases, and room for one more.'),
            storageClass: objectName.optional().describe("The volume's StorageClass; omit for the cluster's default."),
          })
          .prefault({})
          .describe('The volume the backups are written to (never pruned by Flux).'),
      })
      .optional()
      .describe(
        'StatefulSet or external: a scheduled pg_dump of every database (and the roles, without passwords) to a volume, with retention. README, "Backups and restore".',
      ),
    external: externalPostgres.optional().describe('With provider "external": the server to connect to.'),
  })
  .superRefine((postgres, context) => {
    if (postgres.provider !== 'cloudnativepg' && postgres.instances !== undefined && postgres.instances !== 1) {
      context.addIssue({
        code: 'custom',
        path: ['instances'],
        message: 'expected 1 unless provider is "cloudnativepg" (the StatefulSet runs one server; CloudNativePG runs replicas)',
      });
    }
    if (postgres.provider !== 'cloudnativepg' && postgres.backup !== undefined) {
      context.addIssue({
        code: 'custom',
        path: ['backup'],
        message: 'expected only with provider "cloudnativepg" (back up other servers with their own tooling)',
      });
    }
    if (postgres.provider !== 'external' && postgres.external !== undefined) {
      context.addIssue({ code: 'custom', path: ['external'], message: 'expected only with provider "external"' });
    }
    const recovery = postgres.backup?.recovery;
    if (recovery && recovery.serverName === (postgres.backup?.serverName ?? CLOUDNATIVE_PG_CLUSTER_NAME)) {
      context.addIssue({
        code: 'custom',
        path: ['backup', 'serverName'],
        message: `expected a serverName other than the one recovered from ("${recovery.serverName}"): the recovered cluster must not archive over the backups it starts from`,
      });
    }
    if (postgres.provider === 'cloudnativepg' && postgres.logicalBackup !== undefined) {
      context.addIssue({
        code: 'custom',
        path: ['logicalBackup'],
        message: 'expected only with provider "statefulset" or "external" (CloudNativePG backs up with postgres.backup)',
      });
    }
  })
  .meta({
    allOf: [
      rule(whenFields({ provider: [['statefulset', 'external'], 'statefulset'] }), {
        properties: { instances: { const: 1 }, backup: false },
      }),
      rule(whenFields({ provider: [['statefulset', 'cloudnativepg'], 'statefulset'] }), forbid('external')),
      rule(whenFields({ provider: [['cloudnativepg'], 'statefulset'] }), forbid('logicalBackup')),
      // The loader says this one at the top level (schema.ts), beside the same rule for each Redis.
      rule(whenFields({ provider: [['external'], 'statefulset'] }), need('external')),
    ],
  });

/** Redis needs memory beyond `maxmemory` for client buffers and copy-on-write during AOF rewrites. */
export const REDIS_MEMORY_HEADROOM = 1.25;

/** The smallest memory limit for a Redis whose maxmemory is `memory` (bytes), in whole MiB. */
export function minimumRedisMemoryLimit(memory: number): number {
  return Math.ceil((memory * REDIS_MEMORY_HEADROOM) / 2 ** 20) * 2 ** 20;
}

const redisInstance = (memory: string) =>
  z
    .strictObject({
      provider: z
        .enum(['in-cluster', 'external'])
        .default('in-cluster')
        .describe('Where the instance runs: a StatefulSet this project writes, or a server outside the cluster.'),
      version: z
        .string()
        .regex(/^7\.\d+\.\d+$/, { error: 'expected a full Redis 7 version such as "7.4.6"' })
        .default('7.4.6')
        .describe(
          'The official `redis` image tag: a full 7.x version (the ACL file and `enable-debug-command` need 7). Per instance, so that an upgrade can go one instance at a time.',
        ),
      memory: quantity('2Gi', MAX_MEMORY).default(memory).describe("Memory for the data set: Redis's `maxmemory`."),
      resources: resources.optional().describe('Omit for 1 CPU and `memory` × 1.25 as memory request and limit.'),
      storage: z
        .strictObject({
          size: quantity('10Gi', MAX_VOLUME).default('8Gi').describe('The size of the volume for the append-only file and snapshots.'),
          storageClass: objectName.optional().describe("The volume's StorageClass; omit to use the cluster's default storage class."),
        })
        .prefault({})
        .describe('The data volume.'),
      external: z
        .strictObject({
          host: hostname.describe("The server's DNS name, e.g. a managed service's endpoint."),
          port: z.int().min(1).max(65535).default(6379).describe("The server's port."),
          tls: z.boolean().default(true).describe('Whether clients connect with TLS (rediss://).'),
        })
        .optional()
        .describe('With provider "external": the server to connect to.'),
    })
    .superRefine((instance, context) => {
      if (instance.provider !== 'external' && instance.external !== undefined) {
        context.addIssue({ code: 'custom', path: ['external'], message: 'expected only with provider "external"' });
      }
      if (instance.resources === undefined) return;
      const limit = instance.resources.limits?.memory;
      if (limit === undefined) {
        context.addIssue({
          code: 'custom',
          path: ['resources', 'limits', 'memory'],
          message: "expected a memory limit (Redis's maxmemory must fit under it)",
        });
      } else if (
        isQuantity(limit) &&
        isQuantity(instance.memory) &&
        parseQuantity(limit) < minimumRedisMemoryLimit(parseQuantity(instance.memory))
      ) {
        const minimum = formatBytes(minimumRedisMemoryLimit(parseQuantity(instance.memory)));
        context.addIssue({
          code: 'custom',
          path: ['resources', 'limits', 'memory'],
          message: `expected at least ${minimum} (memory × ${REDIS_MEMORY_HEADROOM}: Redis needs headroom over maxmemory)`,
        });
      }
    })
    .meta({
      allOf: [
        rule(whenFields({ provider: [['in-cluster'], 'in-cluster'] }), forbid('external')),
        rule(whenFields({ provider: [['external'], 'in-cluster'] }), need('external')),
        { type: 'object', properties: { resources: need('limits') } },
      ],
    });

export const redis = z.strictObject({
  // overview/infra-services: the minimums per instance, 1 CPU with 2, 2 and 4 GiB.
  cache: redisInstance('2Gi').prefault({}).describe('The cache of the Customer-Managed services (LRU eviction, no persistence).'),
  work: redisInstance('2Gi')
    .prefault({})
    .describe('Work queues and concurrency leases of the Customer-Managed services (persistent, never evicting).'),
  streams: redisInstance('4Gi').prefault({}).describe('The event streams of the Customer-Managed services (persistent, never evicting).'),
  messaging: redisInstance('2Gi')
    .prefault({})
    .describe(
      "The open-source server's one instance (docs/v3/advanced/self-hosted): the message broker and cache, causal ordering, lease storage and Docket; persistent, never evicting.",
    ),
  roles: z
    .strictObject({
      'concurrency-leases': z
        .enum(['work', 'streams'], { error: 'expected "work" or "streams" (the cache evicts keys, and a lease must not vanish)' })
        .default(SHARED_REDIS_ROLES['concurrency-leases'])
        .describe('The instance that holds concurrency leases.'),
    })
    .prefault({})
    .describe(
      'Which instance holds each role that has none of its own. Concurrency leases must survive and never be evicted: "work" (persistent, noeviction) by default; never "cache" (LRU eviction).',
    ),
});

/**
 * The Kubernetes names of the Secrets (lib/catalog/secrets.ts lists them and their keys); each
 * defaults to "prefect-<id>".
 */
export const secretNames = z.strictObject(
  Object.fromEntries(
    SECRET_IDS.map((id) => [
      id,
      objectName.optional().describe(`The name of the Secret with ${SECRET_CATALOG[id].description} (default "${defaultSecretName(id)}").`),
    ]),
  ) as Record<NamedSecretId, z.ZodOptional<typeof objectName>>,
);

// lib/data/secrets/secrets.ts, `secretsRevisionAnnotation`: Kubernetes restarts nothing when a Secret changes.
const REVISION_ERROR = 'expected a revision such as "2" (letters, digits, "-", "_" and ".")';
const secretsRevision = z
  .union([z.int().min(0), z.string().regex(/^[A-Za-z0-9][-A-Za-z0-9_.]{0,62}$/, { error: REVISION_ERROR })], { error: REVISION_ERROR })
  .default('1')
  .transform(String)
  .describe(
    "Bump after changing a Secret's value: the init and migration Jobs get new names and run again (setting the roles' new passwords), and the pods that read Secrets at start restart.",
  );

export const secrets = z.discriminatedUnion(
  'provider',
  [
    z.strictObject({
      provider: z.literal('existing').describe('The Secrets are created by hand or committed encrypted with SOPS (see flux.sops).'),
      names: secretNames.optional().describe('The Secrets\' names, by id; each defaults to "prefect-<id>".'),
      revision: secretsRevision,
    }),
    z.strictObject({
      provider: z
        .literal('external-secrets')
        .describe('External Secrets Operator writes the Secrets from a store (Vault, a cloud secret manager …).'),
      store: z
        .strictObject({
          kind: z.enum(['ClusterSecretStore', 'SecretStore']).default('ClusterSecretStore').describe('The kind of the store.'),
          name: objectName.describe('The name of the store.'),
        })
        .describe(
          'The External Secrets store the ExternalSecrets read from; a SecretStore must exist in every namespace that reads a Secret.',
        ),
      refreshInterval: duration.default('1h').describe('How often External Secrets reads the values again.'),
      remoteKeyPrefix: z.string().default('').describe('Prepended to every remote key (the Secret\'s id), e.g. "prefect/prod/".'),
      names: secretNames.optional().describe('The Secrets\' names, by id; each defaults to "prefect-<id>".'),
      revision: secretsRevision,
    }),
  ],
  { error: 'expected a secrets provider: "existing" or "external-secrets"' },
);
