/*
 * The Prefect section of the configuration: the image, the catalog overrides, outbound traffic.
 */
import { z } from 'zod';
import { DATABASES, REDIS_INSTANCES, SERVICE_TYPES } from '../catalog/services';
import { isNetworkCidr, strictlyContains } from '../core/cidr';
import { dnsLabel, duration, imageTag, networkCidr, objectName, resources } from './fields';
import { durationMilliseconds } from '../core/duration';

/** The default deadline of each database's migration: room for Prefect's 30-minute-plus migrations. */
export const MIGRATION_DEADLINE = '1h';

/** Outbound TCP to a range outside the cluster (lib/catalog/services.ts, EgressDestination). */
const egressDestination = z
  .strictObject({
    cidr: networkCidr,
    /** Omit for the cluster's private ranges inside `cidr` (cluster.privateRanges); [] for none. */
    except: z.array(networkCidr).optional(),
    ports: z.array(z.int().min(1).max(65535)).min(1, { error: 'expected at least one port' }),
  })
  .superRefine((destination, context) => {
    (destination.except ?? []).forEach((range, index) => {
      if (isNetworkCidr(range) && isNetworkCidr(destination.cidr) && !strictlyContains(destination.cidr, range)) {
        context.addIssue({
          code: 'custom',
          path: ['except', index],
          message: `expected a range strictly inside cidr ${destination.cidr} (a NetworkPolicy rejects any other)`,
        });
      }
    });
  });

/**
 * Overrides of one catalog entry (lib/catalog/services.ts), or a whole new service. Every field of the
 * catalog can be overridden; `enabled: false` removes a default service.
 */
const serviceOverride = z.strictObject({
  enabled: z.boolean().optional(),
  type: z.enum(SERVICE_TYPES).optional(),
  image: z.enum(['server', 'ui']).optional(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  port: z.int().min(1024, { error: 'expected an unprivileged port (1024-65535)' }).max(65535).optional(),
  health: z.strictObject({ liveness: z.string().startsWith('/'), readiness: z.string().startsWith('/') }).optional(),
  host: z.enum(['api', 'app', 'internal']).optional(),
  websockets: z.boolean().optional(),
  databases: z.array(z.enum(DATABASES)).optional(),
  redis: z.array(z.enum(REDIS_INSTANCES)).optional(),
  replicas: z.int().min(1, { error: 'expected at least 1 replica' }).optional(),
  maxReplicas: z.int().min(1, { error: 'expected at least 1 replica' }).optional(),
  resources: resources.optional(),
  env: z
    .record(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected an environment variable name such as "PREFECT_LOGGING_LEVEL"' }),
      z.string(),
    )
    .optional(),
  /** Replaces the entry's list; [] closes the service's way out of the cluster. */
  egress: z.array(egressDestination).optional(),
});
export type ServiceOverride = z.infer<typeof serviceOverride>;

export const prefect = z.strictObject({
  image: z.strictObject({
    /** The private registry that serves `cloud/server` and `cloud/ui`. */
    registry: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:\d+)?(\/[a-z0-9._-]+)*$/, {
      error: 'expected a registry such as "registry.example.com/prefect"',
    }),
    tag: imageTag,
    /** A `kubernetes.io/dockerconfigjson` Secret in the Prefect namespace. */
    pullSecret: objectName.optional(),
    /**
     * Pin the images by content as well as by tag: `<image>:<tag>@<digest>` (the runtime
     * pulls the digest; the tag stays for readers).
     */
    digests: z
      .strictObject({
        server: z
          .string()
          .regex(/^sha256:[0-9a-f]{64}$/, { error: 'expected an image digest such as "sha256:" followed by 64 hex digits' })
          .optional(),
        ui: z
          .string()
          .regex(/^sha256:[0-9a-f]{64}$/, { error: 'expected an image digest such as "sha256:" followed by 64 hex digits' })
          .optional(),
      })
      .optional(),
  }),
  /** Default replicas of scalable services. */
  replicas: z.int().min(1, { error: 'expected at least 1 replica' }).default(1),
  /** The schema-migration Jobs (one per database, in the migrations layer). */
  migrations: z
    .strictObject({
      /** The command, followed by the database's name. ASSUMPTION: `prefect-cloud migrate`. */
      command: z.array(z.string().min(1)).min(1).optional(),
      /**
       * How long each database's migration may run (its Job's activeDeadlineSeconds, retries
       * included); the migrations layer's Flux timeout follows the longest. Prefect says some
       * migrations of a large database take 30 minutes and more.
       */
      deadlines: z
        .strictObject(
          Object.fromEntries(
            DATABASES.map((database) => [
              database,
              duration
                .refine((value) => (durationMilliseconds(value) ?? 0) >= 60_000, { error: 'expected at least one minute, such as "1h"' })
                .default(MIGRATION_DEADLINE),
            ]),
          ) as Record<(typeof DATABASES)[number], z.ZodDefault<z.ZodString>>,
        )
        .prefault({}),
    })
    .prefault({}),
  /** Caps every scalable service's HPA maximum (small clusters). */
  maxReplicas: z.int().min(1, { error: 'expected at least 1 replica' }).optional(),
  /** Resources of every service that `services.<name>.resources` does not set (small clusters). */
  defaultResources: resources.optional(),
  services: z.record(dnsLabel, serviceOverride).default({}),
});
