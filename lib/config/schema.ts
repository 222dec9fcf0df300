import { z } from 'zod';
import { isQuantity } from '../quantity';

/*
 * The one schema for `config/<env>.yaml`. Every object is strict (an unknown key is an error, so
 * a typo is never silently ignored) and every field a small installation need not say has a
 * default. `prefault` (not `default`) is used for nested objects so that their own field
 * defaults are filled in too.
 */

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function isDnsSubdomain(value: string): boolean {
  return value.length <= 253 && value.split('.').every((label) => label.length <= 63 && DNS_LABEL.test(label));
}

/** A fully qualified DNS name with at least two labels, lower case (RFC 1123). */
const hostname = z.string().refine((value) => value.includes('.') && isDnsSubdomain(value) && !/^\d+(\.\d+)*$/.test(value), {
  error: 'expected a lower-case DNS name such as "prefect.example.com"',
});

/** A Kubernetes object name (RFC 1123 label, at most 63 characters). */
const dnsLabel = z.string().refine((value) => value.length <= 63 && DNS_LABEL.test(value), {
  error: 'expected a Kubernetes name: lower-case letters, digits and "-", at most 63 characters, such as "prefect"',
});

/** A Kubernetes object name that may contain dots (RFC 1123 subdomain). */
const objectName = z.string().refine(isDnsSubdomain, {
  error: 'expected a Kubernetes object name: lower-case letters, digits, "-" and ".", such as "prefect-postgres"',
});

const quantity = (example: string) =>
  z.string().refine(isQuantity, { error: `expected a Kubernetes quantity such as "${example}"` });

/** A Go duration as Flux and cert-manager read it, e.g. "10m", "1h30m", "2160h". */
const duration = z.string().regex(/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/, {
  error: 'expected a duration such as "10m" or "2160h"',
});

const email = z.string().regex(/^[^\s@]+@[^\s@]+\.[^\s@.]+$/, {
  error: 'expected an e-mail address such as "platform@example.com"',
});

/** A chart or image version: no floating tags, no ranges. */
const version = z.string().regex(/^v?\d+\.\d+(\.\d+)?([-.+][0-9A-Za-z.-]+)?$/, {
  error: 'expected a pinned version such as "1.30.3" or "v1.21.1"',
});

const imageTag = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, { error: 'expected an image tag such as "2026.11.1"' })
  .refine((tag) => tag !== 'latest', { error: 'expected a pinned image tag, not "latest"' });

const cidr = z.string().refine(isCidr, { error: 'expected a CIDR range such as "203.0.113.0/24"' });

const labelMap = z.record(
  z.string().regex(/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, {
    error: 'expected a Kubernetes label or annotation key such as "example.com/team"',
  }),
  z.string(),
);

export const resources = z.strictObject({
  requests: z.strictObject({
    cpu: quantity('500m'),
    memory: quantity('1Gi'),
  }),
  limits: z
    .strictObject({
      cpu: quantity('2').optional(),
      memory: quantity('1Gi'),
    })
    .optional(),
});
export type Resources = z.infer<typeof resources>;

const tls = z.discriminatedUnion(
  'mode',
  [
    z.strictObject({
      mode: z.enum(['letsencrypt', 'letsencrypt-staging']),
      /** The ACME account's contact address. */
      email,
      solver: z
        .discriminatedUnion(
          'type',
          [
            z.strictObject({ type: z.literal('http01') }),
            z.strictObject({
              type: z.literal('dns01'),
              provider: z.discriminatedUnion(
                'name',
                [
                  z.strictObject({
                    name: z.literal('route53'),
                    region: z.string().min(1),
                    hostedZoneID: z.string().min(1).optional(),
                    /** Omit to use the pod's IAM role (IRSA / Pod Identity). */
                    accessKeySecret: z.strictObject({ name: objectName, accessKeyIdKey: z.string().min(1), secretAccessKeyKey: z.string().min(1) }).optional(),
                  }),
                  z.strictObject({
                    name: z.literal('cloudDNS'),
                    project: z.string().min(1),
                    /** Omit to use Workload Identity. */
                    serviceAccountSecret: z.strictObject({ name: objectName, key: z.string().min(1) }).optional(),
                  }),
                  z.strictObject({
                    name: z.literal('cloudflare'),
                    apiTokenSecret: z.strictObject({ name: objectName, key: z.string().min(1) }),
                  }),
                  z.strictObject({
                    name: z.literal('azureDNS'),
                    subscriptionID: z.string().min(1),
                    resourceGroupName: z.string().min(1),
                    hostedZoneName: hostname,
                    /** The client ID of a managed identity (Azure Workload Identity). */
                    managedIdentityClientID: z.string().min(1).optional(),
                  }),
                ],
                { error: 'expected a DNS-01 provider name: "route53", "cloudDNS", "cloudflare" or "azureDNS"' },
              ),
            }),
          ],
          { error: 'expected a solver type: "http01" or "dns01"' },
        )
        .prefault({ type: 'http01' }),
      duration: duration.default('2160h'),
      renewBefore: duration.default('720h'),
    }),
    z.strictObject({
      mode: z.literal('selfsigned'),
      duration: duration.default('2160h'),
      renewBefore: duration.default('720h'),
      /** Lifetime of the private root CA. */
      caDuration: duration.default('87600h'),
    }),
    z.strictObject({
      mode: z.literal('existing'),
      /** A `kubernetes.io/tls` Secret in the gateway's namespace, covering both hostnames. */
      secretName: objectName,
    }),
  ],
  { error: 'expected a TLS mode: "letsencrypt", "letsencrypt-staging", "selfsigned" or "existing"' },
);

const loadBalancer = z.strictObject({
  /** l4: the load balancer passes TCP through and TLS ends at the gateway; l7: TLS ends at the load balancer. */
  mode: z.enum(['l4', 'l7']).default('l4'),
  provider: z.enum(['aws', 'gcp', 'azure', 'generic']).default('generic'),
  annotations: labelMap.default({}),
  /** Client address ranges allowed to reach the load balancer; empty allows all. */
  sourceRanges: z.array(cidr).default([]),
  /** Adds external-dns hostname annotations for both hosts. */
  externalDns: z.boolean().default(false),
  /** Proxies in front of the gateway that add X-Forwarded-For (L7 mode). */
  trustedProxies: z.int().min(0).max(10).optional(),
});

const mesh = z.strictObject({
  /** true: Flux installs Istio; false: bring your own mesh and gateway. */
  install: z.boolean().default(true),
  /** Pod labels of the ingress gateway that the `Gateway` binds to. */
  gatewaySelector: z.record(z.string(), z.string()).default({ istio: 'ingressgateway' }),
  gateway: z
    .strictObject({
      replicas: z.int().min(1, { error: 'expected at least 1 replica' }).default(1),
      maxReplicas: z.int().min(1, { error: 'expected at least 1 replica' }).default(3),
      resources: resources.prefault({ requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } }),
    })
    .prefault({}),
  versions: z
    .strictObject({
      istio: version.default('1.30.3'),
      certManager: version.default('v1.21.1'),
      trustManager: version.default('v0.24.0'),
      externalSecrets: version.default('2.9.0'),
      cloudnativePg: version.default('0.27.0'),
    })
    .prefault({}),
  /** Switch off the pieces the cluster already has. */
  installCertManager: z.boolean().default(true),
  installTrustManager: z.boolean().default(true),
});

const externalPostgres = z.strictObject({
  host: hostname,
  port: z.int().min(1).max(65535).default(5432),
  sslMode: z.enum(['disable', 'require', 'verify-ca', 'verify-full']).default('verify-full'),
});

const postgres = z.strictObject({
  provider: z.enum(['statefulset', 'cloudnativepg', 'external']).default('statefulset'),
  /** The official `postgres` image tag: a full version. */
  version: z.string().regex(/^1[4-9]\.\d+$/, { error: 'expected a full PostgreSQL version 14 or newer, such as "17.6"' }).default('17.6'),
  storage: z
    .strictObject({
      size: quantity('100Gi').default('20Gi'),
      /** Omit to use the cluster's default storage class. */
      storageClass: objectName.optional(),
    })
    .prefault({}),
  resources: resources.prefault({ requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '1Gi' } }),
  /** CloudNativePG instances (1 primary + replicas). */
  instances: z.int().min(1, { error: 'expected at least 1 instance' }).default(1),
  external: externalPostgres.optional(),
});

const redisInstance = (memory: string) =>
  z.strictObject({
    provider: z.enum(['in-cluster', 'external']).default('in-cluster'),
    /** Memory for the data set; `maxmemory` is derived from it. */
    memory: quantity('2Gi').default(memory),
    resources: resources.prefault({ requests: { cpu: '100m', memory }, limits: { memory } }),
    storage: z.strictObject({ size: quantity('10Gi').default('8Gi'), storageClass: objectName.optional() }).prefault({}),
    external: z.strictObject({ host: hostname, port: z.int().min(1).max(65535).default(6379), tls: z.boolean().default(true) }).optional(),
  });

const serviceOverride = z.strictObject({
  enabled: z.boolean().optional(),
  replicas: z.int().min(1, { error: 'expected at least 1 replica' }).optional(),
  maxReplicas: z.int().min(1, { error: 'expected at least 1 replica' }).optional(),
  resources: resources.optional(),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'expected an environment variable name such as "PREFECT_LOGGING_LEVEL"' }), z.string()).optional(),
});

const prefect = z.strictObject({
  image: z
    .strictObject({
      /** The private registry that serves `cloud/server` and `cloud/ui`. */
      registry: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:\d+)?(\/[a-z0-9._-]+)*$/, { error: 'expected a registry such as "registry.example.com/prefect"' }),
      tag: imageTag,
      /** A `kubernetes.io/dockerconfigjson` Secret in the Prefect namespace. */
      pullSecret: objectName.optional(),
    }),
  /** Default replicas of scalable services. */
  replicas: z.int().min(1, { error: 'expected at least 1 replica' }).default(1),
  services: z.record(dnsLabel, serviceOverride).default({}),
});

const secrets = z.discriminatedUnion(
  'provider',
  [
    z.strictObject({ provider: z.literal('existing') }),
    z.strictObject({
      provider: z.literal('external-secrets'),
      store: z.strictObject({
        kind: z.enum(['ClusterSecretStore', 'SecretStore']).default('ClusterSecretStore'),
        name: objectName,
      }),
      refreshInterval: duration.default('1h'),
      /** Prepended to every remote key, e.g. "prefect/prod/". */
      remoteKeyPrefix: z.string().default(''),
    }),
  ],
  { error: 'expected a secrets provider: "existing" or "external-secrets"' },
);

const cluster = z.strictObject({
  nodes: z.int().min(1, { error: 'expected at least 1 node' }),
  cpuPerNode: quantity('16'),
  memoryPerNode: quantity('24Gi'),
  /** Topology zones of the node pool; empty for a single-zone cluster. */
  zones: z.array(z.string().min(1)).default([]),
});

const flux = z.strictObject({
  namespace: dnsLabel.default('flux-system'),
  /** The `GitRepository` that holds this repository, created by `flux bootstrap`. */
  sourceRef: z
    .strictObject({
      name: objectName.default('flux-system'),
      namespace: dnsLabel.default('flux-system'),
    })
    .prefault({}),
  /** Path of `dist/<env>` inside the Git repository. Defaults to "./dist/<environment>". */
  path: z.string().regex(/^\.\/[A-Za-z0-9._/-]*$/, { error: 'expected a repository path starting with "./", such as "./dist/prod"' }).optional(),
  interval: duration.default('10m'),
  retryInterval: duration.default('2m'),
  timeout: duration.default('10m'),
  prune: z.boolean().default(true),
});

export const configSchema = z
  .strictObject({
    environment: dnsLabel,
    domain: hostname,
    hostnames: z.strictObject({ api: hostname.optional(), app: hostname.optional() }).prefault({}),
    namespaces: z
      .strictObject({
        prefect: dnsLabel.default('prefect'),
        data: dnsLabel.default('prefect-data'),
        istio: dnsLabel.default('istio-system'),
        ingress: dnsLabel.default('istio-ingress'),
        certManager: dnsLabel.default('cert-manager'),
      })
      .prefault({}),
    tls,
    loadBalancer: loadBalancer.prefault({}),
    mesh: mesh.prefault({}),
    postgres: postgres.prefault({}),
    redis: z
      .strictObject({
        cache: redisInstance('2Gi').prefault({}),
        work: redisInstance('2Gi').prefault({}),
        streams: redisInstance('4Gi').prefault({}),
      })
      .prefault({}),
    prefect,
    secrets: secrets.prefault({ provider: 'existing' }),
    cluster,
    flux: flux.prefault({}),
  })
  .superRefine((config, context) => {
    const namespaces = Object.entries(config.namespaces);
    for (const [key, value] of namespaces) {
      const first = namespaces.find(([, other]) => other === value);
      if (first && first[0] !== key) {
        context.addIssue({ code: 'custom', path: ['namespaces', key], message: `expected a namespace different from namespaces.${first[0]}` });
      }
    }
    if (config.postgres.provider === 'external' && !config.postgres.external) {
      context.addIssue({ code: 'custom', path: ['postgres', 'external'], message: 'expected the external server ({host, port, sslMode}) when postgres.provider is "external"' });
    }
    for (const name of ['cache', 'work', 'streams'] as const) {
      const instance = config.redis[name];
      if (instance.provider === 'external' && !instance.external) {
        context.addIssue({ code: 'custom', path: ['redis', name, 'external'], message: `expected the external server ({host, port, tls}) when redis.${name}.provider is "external"` });
      }
    }
    if (config.mesh.gateway.maxReplicas < config.mesh.gateway.replicas) {
      context.addIssue({ code: 'custom', path: ['mesh', 'gateway', 'maxReplicas'], message: `expected at least mesh.gateway.replicas (${config.mesh.gateway.replicas})` });
    }
    const api = config.hostnames.api ?? `api.${config.domain}`;
    const app = config.hostnames.app ?? `app.${config.domain}`;
    if (api === app) {
      context.addIssue({ code: 'custom', path: ['hostnames'], message: 'expected different hostnames for the API and the UI' });
    }
    if (config.loadBalancer.trustedProxies !== undefined && config.loadBalancer.mode !== 'l7') {
      context.addIssue({ code: 'custom', path: ['loadBalancer', 'trustedProxies'], message: 'expected only with loadBalancer.mode "l7" (an L4 load balancer adds no proxy hop)' });
    }
  });

/** The configuration as written in `config/<env>.yaml`, before defaults. */
export type ConfigInput = z.input<typeof configSchema>;
/** The configuration with every default filled in. */
export type ParsedConfig = z.output<typeof configSchema>;

function isCidr(value: string): boolean {
  const [address, prefix, ...rest] = value.split('/');
  if (rest.length > 0 || prefix === undefined || !/^\d{1,3}$/.test(prefix)) return false;
  const bits = Number(prefix);
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(address ?? '')) {
    return bits <= 32 && (address ?? '').split('.').every((octet) => Number(octet) <= 255);
  }
  return /^[0-9a-fA-F:]+$/.test(address ?? '') && (address ?? '').includes(':') && bits <= 128;
}
