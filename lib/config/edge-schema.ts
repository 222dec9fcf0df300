/*
 * The edge sections of the configuration: TLS, the load balancer, the mesh, the route table.
 */
import { z } from 'zod';
import { rule, forbid, need, whenFields } from './json-rules';
import { loadBalancerProblems } from './load-balancer-rules';
import { cidr, dnsLabel, duration, email, hostname, labelMap, labelValueMap, objectName, resources, version } from './fields';

export const tls = z.discriminatedUnion(
  'mode',
  [
    z.strictObject({
      mode: z
        .enum(['letsencrypt', 'letsencrypt-staging'])
        .describe("Certificates from Let's Encrypt through cert-manager (staging: its test CA, not trusted by browsers)."),
      email: email.describe("The ACME account's contact address."),
      solver: z
        .discriminatedUnion(
          'type',
          [
            z.strictObject({ type: z.literal('http01').describe('The ACME challenge is answered over HTTP on port 80 of the gateway.') }),
            z.strictObject({
              type: z.literal('dns01').describe('The ACME challenge is answered with a TXT record at the DNS provider.'),
              provider: z
                .discriminatedUnion(
                  'name',
                  [
                    z.strictObject({
                      name: z.literal('route53').describe('Amazon Route 53.'),
                      region: z.string().min(1).describe('The AWS region of the Route 53 API, e.g. "us-east-1".'),
                      hostedZoneID: z.string().min(1).optional().describe('The hosted zone; omit to let cert-manager find it.'),
                      accessKeySecret: z
                        .strictObject({
                          name: objectName.describe('The Secret in the cert-manager namespace.'),
                          accessKeyIdKey: z.string().min(1).describe('Its key holding the access key ID.'),
                          secretAccessKeyKey: z.string().min(1).describe('Its key holding the secret access key.'),
                        })
                        .optional()
                        .describe("Omit to use the pod's IAM role (IRSA / Pod Identity)."),
                    }),
                    z.strictObject({
                      name: z.literal('cloudDNS').describe('Google Cloud DNS.'),
                      project: z.string().min(1).describe('The Google Cloud project of the zone.'),
                      serviceAccountSecret: z
                        .strictObject({
                          name: objectName.describe('The Secret in the cert-manager namespace.'),
                          key: z.string().min(1).describe("Its key holding the service account's JSON key."),
                        })
                        .optional()
                        .describe('Omit to use Workload Identity.'),
                    }),
                    z.strictObject({
                      name: z.literal('cloudflare').describe('Cloudflare.'),
                      apiTokenSecret: z
                        .strictObject({
                          name: objectName.describe('The Secret in the cert-manager namespace.'),
                          key: z.string().min(1).describe('Its key holding the API token.'),
                        })
                        .describe('The Secret with an API token allowed to edit the zone.'),
                    }),
                    z.strictObject({
                      name: z.literal('azureDNS').describe('Azure DNS.'),
                      subscriptionID: z.string().min(1).describe('The Azure subscription of the zone.'),
                      resourceGroupName: z.string().min(1).describe('The resource group of the zone.'),
                      hostedZoneName: hostname.describe('The DNS zone, e.g. "example.com".'),
                      managedIdentityClientID: z
                        .string()
                        .min(1)
                        .optional()
                        .describe('The client ID of a managed identity (Azure Workload Identity).'),
                    }),
                  ],
                  { error: 'expected a DNS-01 provider name: "route53", "cloudDNS", "cloudflare" or "azureDNS"' },
                )
                .describe('The DNS provider of the zone that holds both hostnames.'),
            }),
          ],
          { error: 'expected a solver type: "http01" or "dns01"' },
        )
        .prefault({ type: 'http01' })
        .describe('How cert-manager answers the ACME challenge.'),
      duration: duration.default('2160h').describe("The lifetime cert-manager asks for (Let's Encrypt issues 90 days whatever is asked)."),
      renewBefore: duration.default('720h').describe('How long before expiry cert-manager renews.'),
    }),
    z.strictObject({
      mode: z.literal('selfsigned').describe('A private root CA that cert-manager creates, and certificates it signs.'),
      duration: duration.default('2160h').describe("The lifetime of the gateway's certificate."),
      renewBefore: duration.default('720h').describe('How long before expiry cert-manager renews.'),
      caDuration: duration.default('87600h').describe('Lifetime of the private root CA.'),
    }),
    z.strictObject({
      mode: z.literal('existing').describe('A certificate you provide in a Secret.'),
      secretName: objectName.describe("A `kubernetes.io/tls` Secret in the gateway's namespace, covering both hostnames."),
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
    mode: z
      .enum(['l4', 'l7'])
      .default('l4')
      .describe('l4: the load balancer passes TCP through and TLS ends at the gateway; l7: TLS ends at the load balancer.'),
    provider: z
      .enum(['aws', 'gcp', 'azure', 'generic'])
      .default('generic')
      .describe(
        'The cloud whose load balancer fronts the gateway: it decides the Service annotations and, with l7, how TLS and client addresses arrive.',
      ),
    annotations: labelMap.default({}).describe('More annotations on the gateway Service, over the ones the provider gets.'),
    sourceRanges: z.array(cidr).default([]).describe('Client address ranges allowed to reach the load balancer; empty allows all.'),
    externalDns: z.boolean().default(false).describe('Adds external-dns hostname annotations for both hosts.'),
    trustedProxies: z
      .int()
      .min(0)
      .max(10)
      .optional()
      .describe('l7 behind an HTTP(S) proxy: the X-Forwarded-For hops it appends. Default: gcp 2, azure 1; generic: required.'),
    certificate: acmCertificateArn
      .optional()
      .describe("l7 with provider aws: the ACM certificate (ARN) for both hostnames that the NLB's TLS listener serves."),
    serviceType: z
      .enum(['ClusterIP', 'NodePort'])
      .optional()
      .describe("l7 behind an HTTP(S) proxy: the gateway Service's type; NodePort for a proxy outside the cluster."),
  })
  .superRefine((loadBalancer, context) => {
    for (const { field, message } of loadBalancerProblems(loadBalancer)) context.addIssue({ code: 'custom', path: [field], message });
  })
  // loadBalancerProblems in JSON Schema (mode defaults to l4, provider to generic).
  .meta({
    allOf: [
      rule(whenFields({ mode: [['l4'], 'l4'] }), forbid('trustedProxies', 'certificate', 'serviceType')),
      rule(whenFields({ mode: [['l7'], 'l4'], provider: [['aws'], 'generic'] }), {
        allOf: [need('certificate'), forbid('trustedProxies', 'serviceType')],
      }),
      rule(whenFields({ mode: [['l7'], 'l4'], provider: [['gcp', 'azure', 'generic'], 'generic'] }), {
        type: 'object',
        properties: { certificate: false, sourceRanges: { type: 'array', maxItems: 0 }, externalDns: { const: false } },
      }),
      rule(whenFields({ mode: [['l7'], 'l4'], provider: [['generic'], 'generic'] }), need('trustedProxies')),
    ],
  });

export const mesh = z.strictObject({
  install: z.boolean().default(true).describe('true: Flux installs Istio; false: bring your own mesh and gateway.'),
  gatewaySelector: z
    .record(z.string(), z.string())
    .default({ istio: 'ingressgateway' })
    .describe('Pod labels of the ingress gateway that the `Gateway` binds to.'),
  gateway: z
    .strictObject({
      replicas: z
        .int()
        .min(1, { error: 'expected at least 1 replica' })
        .max(1000)
        .default(1)
        .describe("The least gateway pods (the autoscaler's minimum)."),
      maxReplicas: z
        .int()
        .min(1, { error: 'expected at least 1 replica' })
        .max(1000)
        .default(3)
        .describe('The most gateway pods the autoscaler runs; at least `replicas`.'),
      resources: resources
        .prefault({ requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } })
        .describe('CPU and memory of each gateway pod.'),
    })
    .prefault({})
    .describe('The ingress gateway that Flux installs (the Istio `gateway` chart).'),
  versions: z
    .strictObject({
      istio: version.default('1.30.3').describe('The Istio charts (base, istiod, gateway).'),
      certManager: version.default('v1.21.1').describe('The cert-manager chart.'),
      trustManager: version.default('v0.24.0').describe('The trust-manager chart.'),
      externalSecrets: version.default('2.9.0').describe('The external-secrets chart (with secrets.provider "external-secrets").'),
      cloudnativePg: version
        .default('0.29.0')
        .describe('The `cloudnative-pg` chart: 0.29.0 installs operator 1.30.0, the CRDs the output is validated against.'),
      keda: version
        .default('2.20.2')
        .describe('The KEDA chart (with autoscaling.backlog): 2.20.2 installs KEDA 2.20.2, whose CRDs the output is validated against.'),
      barmanCloudPlugin: version
        .default('0.7.0')
        .describe(
          'The `plugin-barman-cloud` chart (CloudNativePG with postgres.backup): 0.7.0 installs the plugin v0.13.0, whose ObjectStore CRD is the one the output is validated against (unchanged in v0.14.0).',
        ),
    })
    .prefault({})
    .describe('The chart versions of the platform releases Flux installs: pinned, never ranges.'),
  installCertManager: z.boolean().default(true).describe('Whether Flux installs cert-manager; false when the cluster already has it.'),
  installTrustManager: z.boolean().default(true).describe('Whether Flux installs trust-manager; false when the cluster already has it.'),
  certManager: z
    .strictObject({
      serviceAccountAnnotations: labelMap
        .default({})
        .describe("Annotations on cert-manager's ServiceAccount (chart value `serviceAccount.annotations`)."),
      podLabels: labelValueMap.default({}).describe("Labels on the cert-manager controller's pods (chart value `podLabels`)."),
    })
    .prefault({})
    .describe(
      'The cloud identity of the cert-manager that Flux installs, for DNS-01 without a key in a Secret; one of `eks.amazonaws.com/role-arn` (IRSA), `iam.gke.io/gcp-service-account` (GKE Workload Identity), or `azure.workload.identity/client-id` with the pod label `azure.workload.identity/use: "true"` (Azure Workload Identity).',
    ),
  trustDomain: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9._-]{0,253}[a-z0-9])?$/, {
      error: 'expected a trust domain such as "cluster.local" or "prod.example.com": lower-case letters, digits, ".", "-" and "_"',
    })
    .default('cluster.local')
    .describe(
      "The mesh's trust domain: the first part of every workload's SPIFFE identity, which AuthorizationPolicies name. With `install: true` istiod is configured with it; otherwise it must be your mesh's (meshConfig.trustDomain).",
    ),
  platform: z
    .enum(['gke', 'k3d', 'k3s', 'microk8s', 'minikube', 'openshift'])
    .optional()
    .describe(
      "Istio's platform profile (`global.platform`) for clusters whose CNI binaries or configuration live in non-standard places. Omit on EKS, AKS and most other clusters.",
    ),
  gatewayServiceAccount: objectName
    .default('istio-ingressgateway')
    .describe(
      'The ingress gateway\'s service account: its mesh identity is the one allowed to call the routed services. The gateway release creates it; with `install: false` name yours (istioctl installs use "istio-ingressgateway-service-account").',
    ),
});

/** One path condition of a route, as Istio matches it (case-sensitive, query string ignored). */
const routeMatch = z.union(
  [
    z.strictObject({
      prefix: z.string().regex(/^\//, { error: 'expected a path starting with "/"' }).describe('Paths that start with this.'),
    }),
    z.strictObject({ exact: z.string().regex(/^\//, { error: 'expected a path starting with "/"' }).describe('This path only.') }),
    z.strictObject({ regex: z.string().min(1).describe('Paths that match this RE2 expression whole.') }),
  ],
  { error: 'expected one of {prefix: "/..."}, {exact: "/..."} or {regex: "..."}' },
);

const routeRetries = z.strictObject({
  attempts: z.int().min(0).max(10).describe('How many times Envoy retries a request; 0 switches retries off.'),
  perTryTimeout: duration.optional().describe('The timeout of each attempt.'),
  retryOn: z
    .string()
    .regex(/^[a-z0-9-]+(,[a-z0-9-]+)*$/, {
      error: 'expected comma-separated Envoy retry conditions such as "connect-failure,refused-stream"',
    })
    .optional()
    .describe('Envoy retry conditions, comma-separated, e.g. "connect-failure,refused-stream".'),
});

const routeSettings = {
  timeout: duration.optional().describe('The request timeout; "0s" switches it off (long-lived connections).'),
  retries: routeRetries.optional().describe('How Envoy retries a failed request.'),
  websocket: z.boolean().optional().describe('Long-lived websocket connections: no timeout, no retries.'),
};

export const route = z.strictObject({
  name: dnsLabel.describe('Names the route in the VirtualService and in messages.'),
  host: z.enum(['api', 'app']).describe('The hostname the route is on: api.<domain> or app.<domain>.'),
  match: z.array(routeMatch).min(1, { error: 'expected at least one match' }).describe('Any of these conditions selects the route.'),
  backend: dnsLabel.describe('A web service of the catalog.'),
  port: z.int().min(1).max(65535).optional().describe("Must equal the catalog's port when given."),
  ...routeSettings,
});

export const routes = z.strictObject({
  table: z
    .array(route)
    .min(1, { error: 'expected at least one route' })
    .optional()
    .describe('Replaces the default route table (lib/edge/routes/routes.ts). Order matters: the first matching route wins.'),
  overrides: z
    .record(
      dnsLabel,
      z
        .strictObject({ backend: dnsLabel.optional().describe('Sends the route to another web service of the catalog.'), ...routeSettings })
        .describe('What changes in this route.'),
    )
    .default({})
    .describe('Changes routes of the table, by route name.'),
});
