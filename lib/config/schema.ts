/*
 * The one schema for `config/<env>.yaml`, composed from its sections (fields.ts, edge-schema.ts,
 * data-schema.ts, prefect-schema.ts, cluster-schema.ts) with the rules that cross them. Every
 * object is strict (an unknown key is an error, so a typo is never silently ignored) and every
 * field a small installation need not say has a default. `prefault` (not `default`) is used for nested objects so that their own field
 * defaults are filled in too.
 */
import { z } from 'zod';
import {
  catalogOf,
  databasesOf,
  EDITIONS,
  redisInstancesOf,
  REDIS_INSTANCES,
  SHARED_REDIS_ROLES,
  DATABASES,
  type Edition,
} from '../catalog/services';
import { cluster, flux } from './cluster-schema';
import { monitoring } from './monitoring-schema';
import { charts, helmValues, images, metadata, patches, scheduling, WORKLOAD_GROUPS } from './company-schema';
import { postgres, redis, secrets } from './data-schema';
import { loadBalancer, mesh, routes, tls } from './edge-schema';
import { dnsLabel, hostname } from './fields';
import { at, forbid, given, need, rule, whenFields } from './json-rules';
import { autoscaling, prefect } from './prefect-schema';
import { SSO_SERVICE } from '../catalog/single-sign-on';

/** The API and UI hostnames: `api.<domain>` and `app.<domain>` unless overridden. */
export function resolveHostnames(
  domain: string,
  overrides: { readonly api?: string; readonly app?: string },
): { api: string; app: string } {
  return { api: overrides.api ?? `api.${domain}`, app: overrides.app ?? `app.${domain}` };
}

/** 63 (a label value) less "prefect-" and the longest layer suffix, "-migrations". */
const MAX_ENVIRONMENT_LENGTH = 63 - 'prefect-'.length - '-migrations'.length;

export const configSchema = z
  .strictObject({
    environment: dnsLabel
      .max(MAX_ENVIRONMENT_LENGTH, {
        error: `expected at most ${MAX_ENVIRONMENT_LENGTH} characters: the name goes into label values such as "prefect-<environment>-migrations", at most 63 characters`,
      })
      .describe(
        'The environment\'s name (its file\'s name): part of label values such as "prefect-<environment>-migrations", which Kubernetes caps at 63 characters.',
      ),
    edition: z
      .enum(EDITIONS, { error: 'expected an edition: "customer-managed" or "open-source"' })
      .default('customer-managed')
      .describe('Which Prefect server: Customer-Managed Prefect Cloud, or the open-source server (lib/catalog/services.ts, EDITIONS).'),
    domain: hostname.describe('The DNS domain of the installation: the API is at api.<domain> and the UI at app.<domain>.'),
    hostnames: z
      .strictObject({
        api: hostname.optional().describe("The API's hostname, instead of api.<domain>."),
        app: hostname.optional().describe("The UI's hostname, instead of app.<domain>."),
      })
      .prefault({})
      .describe('Hostnames other than the defaults.'),
    namespaces: z
      .strictObject({
        prefect: dnsLabel.default('prefect').describe('The Prefect services.'),
        data: dnsLabel.default('prefect-data').describe('PostgreSQL, Redis, and the init and migration Jobs.'),
        istio: dnsLabel.default('istio-system').describe('istiod, the Istio control plane.'),
        ingress: dnsLabel.default('istio-ingress').describe('The ingress gateway, its Gateway and the certificate.'),
        certManager: dnsLabel.default('cert-manager').describe('cert-manager and trust-manager.'),
      })
      .prefault({})
      .describe('The namespaces, each different from the others.'),
    tls: tls.describe("Where the certificate of both hostnames comes from: Let's Encrypt, a self-signed CA, or a Secret of yours."),
    loadBalancer: loadBalancer.prefault({}).describe('The load balancer in front of the gateway, L4 or L7.'),
    mesh: mesh.prefault({}).describe('Istio and the platform releases Flux installs.'),
    routes: routes.prefault({}).describe('Which paths of which hostname reach which service.'),
    maintenance: z
      .union(
        [
          z.boolean(),
          z.strictObject({
            retryAfter: z
              .int()
              .min(1, { error: 'expected at least 1 second' })
              .max(86_400, { error: 'expected at most a day (86400 seconds)' })
              .describe('Seconds clients are told to wait (the Retry-After header).'),
          }),
        ],
        { error: 'expected true, false, or { retryAfter: <seconds> }' },
      )
      .default(false)
      .describe(
        'Maintenance mode (docs: faq, "What happens while the API is in maintenance mode?"): the gateway answers 200 on GET /load-balancer/health-check and 503 with Retry-After to every other request on both hosts. `true` retries after 300 seconds.',
      ),
    postgres: postgres.prefault({}).describe('The PostgreSQL server and the databases events, nebula and orion (or prefect, open source).'),
    redis: redis.prefault({}).describe('The Redis instances: cache, work and streams (or messaging, open source).'),
    prefect: prefect.describe('The Prefect services: images, catalog changes, migrations, single sign-on.'),
    secrets: secrets
      .prefault({ provider: 'existing' })
      .describe('Where the Secrets come from: created by you (default) or by External Secrets Operator.'),
    cluster: cluster.describe('The node pool and networks the capacity check and the NetworkPolicies are written for.'),
    flux: flux.prefault({}).describe('How Flux applies the output: the Kustomizations, their source and their timing.'),
    autoscaling: autoscaling.describe('Scaling the consumer and background services on their backlog (KEDA).'),
    monitoring: monitoring.describe('Scraping and alerts for a Prometheus Operator the cluster brings (README, "Monitoring").'),
    scheduling: scheduling.prefault({}),
    images: images.prefault({}),
    charts,
    metadata: metadata.prefault({}),
    helmValues,
    patches,
  })
  .superRefine((config, context) => {
    const namespaces = Object.entries(config.namespaces);
    for (const [key, value] of namespaces) {
      const first = namespaces.find(([, other]) => other === value);
      if (first && first[0] !== key) {
        context.addIssue({
          code: 'custom',
          path: ['namespaces', key],
          message: `expected a namespace different from namespaces.${first[0]}`,
        });
      }
    }
    if (config.postgres.provider === 'cloudnativepg' && (config.postgres.instances ?? 0) > config.cluster.nodes) {
      context.addIssue({
        code: 'custom',
        path: ['postgres', 'instances'],
        message: `expected at most cluster.nodes (${config.cluster.nodes}): CloudNativePG places one instance per node, and instances sharing a node fail together`,
      });
    }
    if (config.postgres.provider === 'external' && !config.postgres.external) {
      context.addIssue({
        code: 'custom',
        path: ['postgres', 'external'],
        message: 'expected the external server ({host, port, sslMode}) when postgres.provider is "external"',
      });
    }
    for (const name of ['cache', 'work', 'streams'] as const) {
      const instance = config.redis[name];
      if (instance.provider === 'external' && !instance.external) {
        context.addIssue({
          code: 'custom',
          path: ['redis', name, 'external'],
          message: `expected the external server ({host, port, tls}) when redis.${name}.provider is "external"`,
        });
      }
    }
    if (config.mesh.gateway.maxReplicas < config.mesh.gateway.replicas) {
      context.addIssue({
        code: 'custom',
        path: ['mesh', 'gateway', 'maxReplicas'],
        message: `expected at least mesh.gateway.replicas (${config.mesh.gateway.replicas})`,
      });
    }
    const { api, app } = resolveHostnames(config.domain, config.hostnames);
    if (api === app) {
      context.addIssue({ code: 'custom', path: ['hostnames'], message: 'expected different hostnames for the API and the UI' });
    }
    // The default hostnames put "api." and "app." in front of the domain: they must still be DNS names.
    for (const [host, name] of [
      ['api', api],
      ['app', app],
    ] as const) {
      if (config.hostnames[host] === undefined && name.length > 253) {
        context.addIssue({
          code: 'custom',
          path: ['domain'],
          message: `expected at most ${253 - `${host}.`.length} characters: the ${host} hostname, ${host}.<domain>, may have 253 at most (it has ${name.length})`,
        });
        break;
      }
    }
    const { maxReplicas, replicas } = config.prefect;
    if (maxReplicas !== undefined && maxReplicas < replicas) {
      context.addIssue({
        code: 'custom',
        path: ['prefect', 'maxReplicas'],
        message: `expected at least prefect.replicas (${replicas})`,
      });
    }
    for (const [name, override] of Object.entries(config.prefect.services)) {
      const known = catalogOf(config.edition).find((service) => service.name === name);
      const ownMaximum = override.maxReplicas;
      // The replicas the configuration asks for: the service's own, or prefect.replicas under a maximum of its own.
      const ownReplicas = override.replicas ?? (ownMaximum !== undefined ? replicas : undefined);
      const maximum = ownMaximum ?? Math.min(known?.maxReplicas ?? Infinity, maxReplicas ?? Infinity);
      if ((override.type ?? known?.type) !== 'loop' && ownReplicas !== undefined && ownReplicas > maximum) {
        context.addIssue({
          code: 'custom',
          path: ['prefect', 'services', name, ownMaximum !== undefined ? 'maxReplicas' : 'replicas'],
          message:
            ownMaximum !== undefined
              ? `expected at least the service's replicas (${ownReplicas})`
              : `expected at most the service's maximum (${maximum}${maxReplicas !== undefined && maximum === maxReplicas ? ', prefect.maxReplicas' : ''}), or a maxReplicas of its own`,
        });
      }
      if ((override.type ?? known?.type) === 'loop' && override.replicas !== undefined && override.replicas !== 1) {
        context.addIssue({
          code: 'custom',
          path: ['prefect', 'services', name, 'replicas'],
          message: 'expected 1: a loop service runs exactly one replica',
        });
      }
      if (known || override.enabled === false) continue;
      for (const field of ['type', 'image', 'command', 'databases', 'redis', 'resources'] as const) {
        if (override[field] === undefined) {
          context.addIssue({
            code: 'custom',
            path: ['prefect', 'services', name, field],
            message: `expected ${field} for the new service "${name}" (it is not in the default catalog)`,
          });
        }
      }
      if (override.type === 'web' && (override.port === undefined || override.health === undefined)) {
        context.addIssue({
          code: 'custom',
          path: ['prefect', 'services', name],
          message: `expected port and health for the new web service "${name}"`,
        });
      }
    }
    if (config.flux.sops && config.flux.sourceRef.kind === 'OCIRepository' && config.flux.sops.path === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['flux', 'sops', 'path'],
        message:
          'expected the folder of encrypted Secrets inside the OCI artifact (e.g. "./secrets") when flux.sourceRef.kind is "OCIRepository"',
      });
    }
    const edition = config.edition;
    if (edition === 'open-source' && config.prefect.sso) {
      context.addIssue({
        code: 'custom',
        path: ['prefect', 'sso'],
        message:
          'expected only with edition "customer-managed": the open-source server has no single sign-on (use prefect.apiAuth, or an auth proxy)',
      });
    }
    if (edition === 'customer-managed' && config.prefect.apiAuth !== undefined) {
      context.addIssue({
        code: 'custom',
        path: ['prefect', 'apiAuth'],
        message: 'expected only with edition "open-source" (Customer-Managed Prefect authenticates through its auth service)',
      });
    }
    const instances = redisInstancesOf(edition);
    const roles = [...instances, ...(edition === 'customer-managed' ? Object.keys(SHARED_REDIS_ROLES) : [])];
    for (const [name, override] of Object.entries(config.prefect.services)) {
      (override.databases ?? []).forEach((database, index) => {
        if (!databasesOf(edition).includes(database)) {
          context.addIssue({
            code: 'custom',
            path: ['prefect', 'services', name, 'databases', index],
            message: `expected a database of the ${edition} edition: ${databasesOf(edition).join(', ')}`,
          });
        }
      });
      (override.redis ?? []).forEach((role, index) => {
        if (!roles.includes(role)) {
          context.addIssue({
            code: 'custom',
            path: ['prefect', 'services', name, 'redis', index],
            message: `expected a Redis role of the ${edition} edition: ${roles.join(', ')}`,
          });
        }
      });
    }
    if (config.prefect.sso && config.prefect.services[SSO_SERVICE]?.enabled === false) {
      context.addIssue({
        code: 'custom',
        path: ['prefect', 'sso'],
        message: `expected the ${SSO_SERVICE} service to run: single sign-on is its job (prefect.services.${SSO_SERVICE}.enabled is false)`,
      });
    }
    const services = catalogOf(edition).map((service) => service.name);
    const newServices = Object.entries(config.prefect.services)
      .filter(([, override]) => override.enabled !== false)
      .map(([name]) => name);
    const workloads = [...WORKLOAD_GROUPS, ...new Set([...services, ...newServices])];
    for (const key of Object.keys(config.scheduling.workloads)) {
      if (!workloads.includes(key)) {
        context.addIssue({
          code: 'custom',
          path: ['scheduling', 'workloads', key],
          message: `expected a workload: ${WORKLOAD_GROUPS.join(', ')}, or a Prefect service (${[...new Set([...services, ...newServices])].join(', ')})`,
        });
      }
    }
    const { certManager } = config.mesh;
    if (
      !config.mesh.installCertManager &&
      (Object.keys(certManager.serviceAccountAnnotations).length > 0 || Object.keys(certManager.podLabels).length > 0)
    ) {
      context.addIssue({
        code: 'custom',
        path: ['mesh', 'certManager'],
        message:
          "expected only with mesh.installCertManager true (give the cluster's own cert-manager its cloud identity where it is installed)",
      });
    }
  })
  // The rules above that JSON Schema can state, for the editor's schema (json-rules.ts).
  .meta({
    allOf: [
      ...(['api', 'app'] as const).map((host) =>
        rule({ not: given(['hostnames', host], {}) }, at(['domain'], { type: 'string', maxLength: 253 - `${host}.`.length })),
      ),
      rule(given(['flux', 'sourceRef', 'kind'], { const: 'OCIRepository' }), at(['flux', 'sops'], need('path'))),
      ...EDITIONS.map((edition) =>
        rule(
          whenFields({ edition: [[edition], 'customer-managed'] }),
          at(['prefect'], {
            ...forbid(edition === 'open-source' ? 'sso' : 'apiAuth'),
            ...at(['services'], {
              type: 'object',
              additionalProperties: {
                type: 'object',
                properties: {
                  databases: { type: 'array', items: { enum: databasesOf(edition) } },
                  redis: {
                    type: 'array',
                    items: {
                      enum: [...redisInstancesOf(edition), ...(edition === 'customer-managed' ? Object.keys(SHARED_REDIS_ROLES) : [])],
                    },
                  },
                },
              },
            }),
          }),
        ),
      ),
      { not: given(['prefect'], { allOf: [given(['sso'], {}), given(['services', SSO_SERVICE, 'enabled'], { const: false })] }) },
      rule(
        given(['mesh', 'installCertManager'], { const: false }),
        at(['mesh', 'certManager'], {
          type: 'object',
          properties: { serviceAccountAnnotations: { type: 'object', maxProperties: 0 }, podLabels: { type: 'object', maxProperties: 0 } },
        }),
      ),
    ],
  });

/**
 * Settings written for the other edition, found in the configuration as written (defaults fill
 * every edition's keys, so only the raw file tells): `path: message` lines.
 */
export function otherEditionSettings(raw: Readonly<Record<string, unknown>>, edition: Edition): string[] {
  const problems: string[] = [];
  const record = (value: unknown) =>
    value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  const redis = record(raw.redis);
  for (const instance of REDIS_INSTANCES) {
    if (instance in redis && !redisInstancesOf(edition).includes(instance)) {
      problems.push(
        `redis.${instance}: expected only with the other edition; the ${edition} edition's Redis: ${redisInstancesOf(edition).join(', ')}`,
      );
    }
  }
  if ('roles' in redis && edition === 'open-source') {
    problems.push('redis.roles: expected only with edition "customer-managed" (the open-source edition has one Redis instance)');
  }
  const migrations = record(record(raw.prefect).migrations);
  for (const field of ['deadlines', 'commands'] as const) {
    for (const database of DATABASES) {
      if (database in record(migrations[field]) && !databasesOf(edition).includes(database)) {
        problems.push(
          `prefect.migrations.${field}.${database}: expected a database of the ${edition} edition: ${databasesOf(edition).join(', ')}`,
        );
      }
    }
  }
  return problems;
}

/** The configuration as written in `config/<env>.yaml`, before defaults. */
export type ConfigInput = z.input<typeof configSchema>;
/** The configuration with every default filled in. */
export type ParsedConfig = z.output<typeof configSchema>;

export type { Resources } from './fields';
export { minimumRedisMemoryLimit, REDIS_MEMORY_HEADROOM } from './data-schema';
export type { ServiceOverride } from './prefect-schema';
