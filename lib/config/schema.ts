import { z } from 'zod';
import { DATABASES, DEFAULT_CATALOG, REDIS_INSTANCES, SERVICE_TYPES } from '../catalog/services';
import { isNetworkCidr, parseCidr, strictlyContains } from '../core/cidr';
import { formatBytes, isQuantity, parseQuantity } from '../core/quantity';
import { SECRET_IDS, type NamedSecretId } from '../data/secrets/secret-catalog';
import { GO_DURATION } from '../core/duration';
import { loadBalancerProblems } from './load-balancer-rules';

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

const quantity = (example: string) => z.string().refine(isQuantity, { error: `expected a Kubernetes quantity such as "${example}"` });

/** A Go duration as Flux and cert-manager read it, e.g. "10m", "1h30m", "2160h". */
const duration = z.string().regex(GO_DURATION, {
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

/** An address range (host bits may be set, as a Service's loadBalancerSourceRanges allow): the one CIDR parser of core/cidr.ts. */
const cidr = z
  .string()
  .refine((value) => parseCidr(value) !== undefined, { error: 'expected a CIDR range such as "203.0.113.0/24" or "2001:db8::/32"' });

/** A network range as a NetworkPolicy ipBlock takes it: no host bits set. */
const networkCidr = z
  .string()
  .refine(isNetworkCidr, { error: 'expected a network range with no host bits set, such as "203.0.113.0/24" or "::/0"' });

/** Labels: keys as `labelMap`, values that Kubernetes accepts as label values. */
const labelValueMap = z.record(
  z.string().regex(/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, {
    error: 'expected a Kubernetes label key such as "azure.workload.identity/use"',
  }),
  z.string().regex(/^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/, {
    error: 'expected a label value (at most 63 letters, digits, "-", "_" and "."), quoted: "true"',
  }),
);

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
                    accessKeySecret: z
                      .strictObject({ name: objectName, accessKeyIdKey: z.string().min(1), secretAccessKeyKey: z.string().min(1) })
                      .optional(),
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

/** An ACM certificate's ARN, as the AWS Load Balancer Controller's `ssl-cert` annotation takes it. */
const acmCertificateArn = z.string().regex(/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/, {
  error: 'expected the ARN of an ACM certificate such as "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-…"',
});

/*
 * How TLS and client addresses reach the gateway (lib/edge/load-balancer.ts):
 * - l4, every provider: a TCP load balancer; TLS ends at the gateway.
 * - l7, aws: an NLB with a TLS listener ends TLS with `certificate` (ACM) and passes client
 *   addresses by PROXY protocol v2.
 * - l7, gcp / azure / generic: an HTTP(S) proxy you run (GCE Ingress or GKE Gateway, Azure
 *   Application Gateway, your own) ends TLS and forwards HTTP to a ClusterIP (or NodePort)
 *   Service; `trustedProxies` says how many X-Forwarded-For hops it appends.
 */
const loadBalancer = z
  .strictObject({
    /** l4: the load balancer passes TCP through and TLS ends at the gateway; l7: TLS ends at the load balancer. */
    mode: z.enum(['l4', 'l7']).default('l4'),
    provider: z.enum(['aws', 'gcp', 'azure', 'generic']).default('generic'),
    annotations: labelMap.default({}),
    /** Client address ranges allowed to reach the load balancer; empty allows all. */
    sourceRanges: z.array(cidr).default([]),
    /** Adds external-dns hostname annotations for both hosts. */
    externalDns: z.boolean().default(false),
    /** l7 behind an HTTP(S) proxy: the X-Forwarded-For hops it appends. Default: gcp 2, azure 1; generic: required. */
    trustedProxies: z.int().min(0).max(10).optional(),
    /** l7 with provider aws: the ACM certificate (ARN) for both hostnames that the NLB's TLS listener serves. */
    certificate: acmCertificateArn.optional(),
    /** l7 behind an HTTP(S) proxy: the gateway Service's type; NodePort for a proxy outside the cluster. */
    serviceType: z.enum(['ClusterIP', 'NodePort']).optional(),
  })
  .superRefine((loadBalancer, context) => {
    for (const { field, message } of loadBalancerProblems(loadBalancer)) context.addIssue({ code: 'custom', path: [field], message });
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
      /** The `cloudnative-pg` chart: 0.29.0 installs operator 1.30.0, the CRDs the output is validated against. */
      cloudnativePg: version.default('0.29.0'),
    })
    .prefault({}),
  /** Switch off the pieces the cluster already has. */
  installCertManager: z.boolean().default(true),
  installTrustManager: z.boolean().default(true),
  /**
   * The cloud identity of the cert-manager that Flux installs, for DNS-01 without a key Secret:
   * `eks.amazonaws.com/role-arn` (IRSA), `iam.gke.io/gcp-service-account` (GKE Workload
   * Identity), or `azure.workload.identity/client-id` with the pod label
   * `azure.workload.identity/use: "true"` (Azure Workload Identity).
   */
  certManager: z
    .strictObject({
      /** Annotations on cert-manager's ServiceAccount (chart value `serviceAccount.annotations`). */
      serviceAccountAnnotations: labelMap.default({}),
      /** Labels on the cert-manager controller's pods (chart value `podLabels`). */
      podLabels: labelValueMap.default({}),
    })
    .prefault({}),
  /**
   * The mesh's trust domain: the first part of every workload's SPIFFE identity, which
   * AuthorizationPolicies name. With `install: true` istiod is configured with it; otherwise it
   * must be your mesh's (meshConfig.trustDomain).
   */
  trustDomain: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9._-]{0,253}[a-z0-9])?$/, {
      error: 'expected a trust domain such as "cluster.local" or "prod.example.com": lower-case letters, digits, ".", "-" and "_"',
    })
    .default('cluster.local'),
  /**
   * Istio's platform profile (`global.platform`) for clusters whose CNI binaries or
   * configuration live in non-standard places. Omit on EKS, AKS and most other clusters.
   */
  platform: z.enum(['gke', 'k3d', 'k3s', 'microk8s', 'minikube', 'openshift']).optional(),
  /**
   * The ingress gateway's service account: its mesh identity is the one allowed to call the
   * routed services. The gateway release creates it; with `install: false` name yours (istioctl
   * installs use "istio-ingressgateway-service-account").
   */
  gatewayServiceAccount: objectName.default('istio-ingressgateway'),
});

/** One path condition of a route, as Istio matches it (case-sensitive, query string ignored). */
const routeMatch = z.union(
  [
    z.strictObject({ prefix: z.string().startsWith('/', { error: 'expected a path starting with "/"' }) }),
    z.strictObject({ exact: z.string().startsWith('/', { error: 'expected a path starting with "/"' }) }),
    z.strictObject({ regex: z.string().min(1) }),
  ],
  { error: 'expected one of {prefix: "/..."}, {exact: "/..."} or {regex: "..."}' },
);

const routeRetries = z.strictObject({
  /** 0 switches retries off. */
  attempts: z.int().min(0).max(10),
  perTryTimeout: duration.optional(),
  /** Envoy retry conditions, comma-separated, e.g. "connect-failure,refused-stream". */
  retryOn: z
    .string()
    .regex(/^[a-z0-9-]+(,[a-z0-9-]+)*$/, {
      error: 'expected comma-separated Envoy retry conditions such as "connect-failure,refused-stream"',
    })
    .optional(),
});

const routeSettings = {
  /** The request timeout; "0s" switches it off (long-lived connections). */
  timeout: duration.optional(),
  retries: routeRetries.optional(),
  /** Long-lived websocket connections: no timeout, no retries. */
  websocket: z.boolean().optional(),
};

const route = z.strictObject({
  /** Names the route in the VirtualService and in messages. */
  name: dnsLabel,
  host: z.enum(['api', 'app']),
  /** Any of these conditions selects the route. */
  match: z.array(routeMatch).min(1, { error: 'expected at least one match' }),
  /** A web service of the catalog. */
  backend: dnsLabel,
  /** Must equal the catalog's port when given. */
  port: z.int().min(1).max(65535).optional(),
  ...routeSettings,
});

const routes = z.strictObject({
  /** Replaces the default route table (lib/edge/routes/routes.ts). Order matters: the first matching route wins. */
  table: z.array(route).min(1, { error: 'expected at least one route' }).optional(),
  /** Changes routes of the table, by route name. */
  overrides: z.record(dnsLabel, z.strictObject({ backend: dnsLabel.optional(), ...routeSettings })).default({}),
});

/*
 * ---- Data layer: PostgreSQL and Redis (lib/data/postgres/postgres.ts, lib/data/redis/redis.ts and their providers) ----
 */

const externalPostgres = z
  .strictObject({
    host: hostname,
    port: z.int().min(1).max(65535).default(5432),
    sslMode: z.enum(['disable', 'require', 'verify-ca', 'verify-full']).default('verify-full'),
    /**
     * A Secret in the data namespace whose key `ca.crt` is the CA of the server's certificate (a
     * managed service's bundle). The init Jobs verify the server with it. Omit to trust the system
     * CA bundle (libpq `sslrootcert=system`, which works only with sslMode "verify-full").
     */
    caSecret: objectName.optional(),
  })
  .superRefine((external, context) => {
    if (external.sslMode === 'verify-ca' && external.caSecret === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['caSecret'],
        message: 'expected a CA Secret with sslMode "verify-ca" (the system CA bundle can only be used with "verify-full")',
      });
    }
  });

const postgresBackup = z.strictObject({
  /** Where base backups and WAL go: an S3 or S3-compatible URL. */
  destinationPath: z.string().regex(/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[A-Za-z0-9._/-]*)?$/, {
    error: 'expected an S3 URL such as "s3://backups/prefect/prod"',
  }),
  /** An S3-compatible endpoint (MinIO, Ceph …); omit for AWS S3. */
  endpointURL: z
    .string()
    .regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, { error: 'expected an http(s) URL such as "https://minio.example.com"' })
    .optional(),
  /** "secret": the Secret `postgres-backup` (lib/data/secrets/secret-catalog.ts); "iam-role": the pods' cloud identity (e.g. EKS Pod Identity). */
  credentials: z.enum(['secret', 'iam-role']).default('secret'),
  /** CloudNativePG's cron format: six fields, seconds first. */
  schedule: z
    .string()
    .regex(/^\S+( \S+){5}$/, { error: 'expected a six-field cron expression (seconds first) such as "0 0 2 * * *"' })
    .default('0 0 2 * * *'),
  retentionPolicy: z
    .string()
    .regex(/^[1-9]\d*[dwm]$/, { error: 'expected a retention such as "30d", "4w" or "6m"' })
    .default('30d'),
});

const postgres = z
  .strictObject({
    provider: z.enum(['statefulset', 'cloudnativepg', 'external']).default('statefulset'),
    /**
     * The official `postgres` image tag: a full version. 15 or newer: the init Jobs read passwords
     * with psql's `\getenv`. With "external", only the init Jobs' client uses it.
     */
    version: z
      .string()
      .regex(/^1[5-9]\.\d+$/, { error: 'expected a full PostgreSQL version 15 or newer, such as "17.6"' })
      .default('17.6'),
    storage: z
      .strictObject({
        size: quantity('100Gi').default('20Gi'),
        /** Omit to use the cluster's default storage class. */
        storageClass: objectName.optional(),
      })
      .prefault({}),
    resources: resources.prefault({ requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '1Gi' } }),
    /** Omit to size it for the Prefect services' connection pools (lib/data/postgres/postgres-config.ts). */
    maxConnections: z.int().min(20, { error: 'expected at least 20 connections' }).max(5000).optional(),
    /**
     * The connections each Prefect process may open per database it uses, for sizing
     * max_connections. ASSUMPTION: SQLAlchemy's defaults, a pool of 5 and up to 10 more under load.
     */
    pool: z
      .strictObject({
        size: z.int().min(1, { error: 'expected at least 1 connection' }).default(5),
        maxOverflow: z.int().min(0).default(10),
      })
      .prefault({}),
    /**
     * CloudNativePG instances (1 primary + replicas). Omit for 3 on a cluster with more than one
     * zone (one per node when there are fewer nodes), 1 otherwise.
     */
    instances: z.int().min(1, { error: 'expected at least 1 instance' }).optional(),
    /** CloudNativePG: base backups and WAL archiving to an object store, and a ScheduledBackup. */
    backup: postgresBackup.optional(),
    external: externalPostgres.optional(),
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
  });

/** The API and UI hostnames: `api.<domain>` and `app.<domain>` unless overridden. */
export function resolveHostnames(
  domain: string,
  overrides: { readonly api?: string; readonly app?: string },
): { api: string; app: string } {
  return { api: overrides.api ?? `api.${domain}`, app: overrides.app ?? `app.${domain}` };
}

/** Redis needs memory beyond `maxmemory` for client buffers and copy-on-write during AOF rewrites. */
export const REDIS_MEMORY_HEADROOM = 1.25;

/** The smallest memory limit for a Redis whose maxmemory is `memory` (bytes), in whole MiB. */
export function minimumRedisMemoryLimit(memory: number): number {
  return Math.ceil((memory * REDIS_MEMORY_HEADROOM) / 2 ** 20) * 2 ** 20;
}

const redisInstance = (memory: string) =>
  z
    .strictObject({
      provider: z.enum(['in-cluster', 'external']).default('in-cluster'),
      /**
       * The official `redis` image tag: a full 7.x version (the ACL file and `enable-debug-command`
       * need 7). Per instance, so that an upgrade can go one instance at a time.
       */
      version: z
        .string()
        .regex(/^7\.\d+\.\d+$/, { error: 'expected a full Redis 7 version such as "7.4.6"' })
        .default('7.4.6'),
      /** Memory for the data set: Redis's `maxmemory`. */
      memory: quantity('2Gi').default(memory),
      /** Omit for 1 CPU and `memory` × 1.25 as memory request and limit. */
      resources: resources.optional(),
      storage: z.strictObject({ size: quantity('10Gi').default('8Gi'), storageClass: objectName.optional() }).prefault({}),
      external: z
        .strictObject({ host: hostname, port: z.int().min(1).max(65535).default(6379), tls: z.boolean().default(true) })
        .optional(),
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
    });

const redis = z.strictObject({
  /** Defaults are Prefect's published minimums (1 CPU; 2, 2 and 4 GiB). */
  cache: redisInstance('2Gi').prefault({}),
  work: redisInstance('2Gi').prefault({}),
  streams: redisInstance('4Gi').prefault({}),
});

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

const prefect = z.strictObject({
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
    })
    .prefault({}),
  /** Caps every scalable service's HPA maximum (small clusters). */
  maxReplicas: z.int().min(1, { error: 'expected at least 1 replica' }).optional(),
  /** Resources of every service that `services.<name>.resources` does not set (small clusters). */
  defaultResources: resources.optional(),
  services: z.record(dnsLabel, serviceOverride).default({}),
});

/**
 * The Kubernetes names of the Secrets (lib/data/secrets/secret-catalog.ts lists them and their keys); each
 * defaults to "prefect-<id>".
 */
const secretNames = z.strictObject(
  Object.fromEntries(SECRET_IDS.map((id) => [id, objectName.optional()])) as Record<NamedSecretId, z.ZodOptional<typeof objectName>>,
);

/**
 * Bump after changing a Secret's value: the init and migration Jobs get new names and run again
 * (setting the roles' new passwords), and the pods that read Secrets at start restart
 * (lib/data/secrets/secrets.ts, `secretsRevisionAnnotation`). Kubernetes restarts nothing when a Secret changes.
 */
const REVISION_ERROR = 'expected a revision such as "2" (letters, digits, "-", "_" and ".")';
const secretsRevision = z
  .union([z.int().min(0), z.string().regex(/^[A-Za-z0-9][-A-Za-z0-9_.]{0,62}$/, { error: REVISION_ERROR })], { error: REVISION_ERROR })
  .transform(String)
  .default('1');

const secrets = z.discriminatedUnion(
  'provider',
  [
    /** The user creates the Secrets (README: `kubectl create secret` lines, or SOPS). */
    z.strictObject({ provider: z.literal('existing'), names: secretNames.optional(), revision: secretsRevision }),
    z.strictObject({
      provider: z.literal('external-secrets'),
      store: z.strictObject({
        kind: z.enum(['ClusterSecretStore', 'SecretStore']).default('ClusterSecretStore'),
        name: objectName,
      }),
      refreshInterval: duration.default('1h'),
      /** Prepended to every remote key (the Secret's id), e.g. "prefect/prod/". */
      remoteKeyPrefix: z.string().default(''),
      names: secretNames.optional(),
      revision: secretsRevision,
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
  /**
   * The cluster's private address ranges: pods, services, nodes and the networks around them
   * (VPC, peered and on-premises networks), plus link-local (cloud metadata endpoints). A service's
   * egress to a wider range (`prefect.services.<name>.egress`, e.g. 0.0.0.0/0 on 443) leaves
   * these out unless it names its own `except`, so "the internet" never opens the way to the
   * cluster itself. Add the pod or service CIDR here if the cluster uses public addresses for them.
   */
  privateRanges: z
    .array(networkCidr)
    .min(1, { error: "expected at least one range (the cluster's pod network)" })
    .default(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', 'fc00::/7', 'fe80::/10']),
  /**
   * Where the pods' DNS queries go: the cluster DNS pods (CoreDNS and kube-dns carry
   * `k8s-app: kube-dns` on EKS, GKE, AKS, kind and k3s) and, with NodeLocal DNSCache, its
   * link-local address. Workloads may send DNS (port 53) there and nowhere else.
   */
  dns: z
    .strictObject({
      namespace: dnsLabel.default('kube-system'),
      podSelector: z.record(z.string(), z.string()).default({ 'k8s-app': 'kube-dns' }),
      /** E.g. ["169.254.20.10/32"] with NodeLocal DNSCache. */
      nodeLocalAddresses: z.array(networkCidr).default([]),
    })
    .prefault({}),
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
  path: z
    .string()
    .regex(/^\.\/[A-Za-z0-9._/-]*$/, { error: 'expected a repository path starting with "./", such as "./dist/prod"' })
    .optional(),
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
    routes: routes.prefault({}),
    postgres: postgres.prefault({}),
    redis: redis.prefault({}),
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
    for (const [name, override] of Object.entries(config.prefect.services)) {
      const known = DEFAULT_CATALOG.find((service) => service.name === name);
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
  });

/** The configuration as written in `config/<env>.yaml`, before defaults. */
export type ConfigInput = z.input<typeof configSchema>;
/** The configuration with every default filled in. */
export type ParsedConfig = z.output<typeof configSchema>;
