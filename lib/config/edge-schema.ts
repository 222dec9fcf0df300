/*
 * The edge sections of the configuration: TLS, the load balancer, the mesh, the route table.
 */
import { z } from 'zod';
import { loadBalancerProblems } from './load-balancer-rules';
import { cidr, dnsLabel, duration, email, hostname, labelMap, labelValueMap, objectName, resources, version } from './fields';

export const tls = z.discriminatedUnion(
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
  {
    error: (issue) =>
      issue.input !== null && typeof issue.input === 'object' && !Array.isArray(issue.input)
        ? 'expected a TLS mode: "letsencrypt", "letsencrypt-staging", "selfsigned" or "existing"'
        : 'expected a mapping with the TLS mode, such as { mode: selfsigned } (mode: "letsencrypt", "letsencrypt-staging", "selfsigned" or "existing")',
  },
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
export const loadBalancer = z
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

export const mesh = z.strictObject({
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

export const route = z.strictObject({
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

export const routes = z.strictObject({
  /** Replaces the default route table (lib/edge/routes/routes.ts). Order matters: the first matching route wins. */
  table: z.array(route).min(1, { error: 'expected at least one route' }).optional(),
  /** Changes routes of the table, by route name. */
  overrides: z.record(dnsLabel, z.strictObject({ backend: dnsLabel.optional(), ...routeSettings })).default({}),
});
