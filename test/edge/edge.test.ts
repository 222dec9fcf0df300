import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Chart } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { principalOf } from '../../lib/mesh/identity';
import { edgeControllerWorkloads } from '../../lib/platform/controller-workloads';
import { FluxLayer } from '../../lib/flux/flux-layer';
import { type AppliedLayer, kustomizationName } from '../../lib/flux/layers';
import { missingDns01Identity } from '../../lib/edge/tls/issuers';
import { IstioControlPlane } from '../../lib/platform/istio-control-plane';
import { gatewayExposure, LOAD_BALANCER_PRESETS, type LoadBalancerSettings, tlsTermination } from '../../lib/edge/load-balancer';
import type { KubernetesObject, RenderedEnvironment } from '../../lib/output/render';
import { checkEnvironment } from '../../lib/app/synthesize';
import { ACM_CERTIFICATE, buildVariant, VARIANTS } from '../config-variants';
import { checkCrdRules } from '../crd-rules';
import { build, ENVIRONMENTS, findObject, loadEnvironment, objectsOfKind, PROJECT_ROOT, sharedValidator } from '../helpers';

/*
 * The edge: Helm releases of the controllers (platform layer), TLS, the Istio Gateway and the
 * mesh policies (edge layer), per TLS mode, load balancer preset and mesh ownership. Every
 * variant built here also passes strict schema validation and the CRDs' CEL rules.
 */

type Spec = Record<string, any>;
const spec = (object: KubernetesObject): Spec => object.spec as Spec;
const names = (rendered: RenderedEnvironment, layer: string) =>
  rendered.objects
    .filter((entry) => entry.layer === layer)
    .map(({ object }) => `${object.kind} ${object.metadata.namespace ?? '-'}/${object.metadata.name}`)
    .sort();
const values = (rendered: RenderedEnvironment, release: string) =>
  spec(findObject(rendered, 'HelmRelease', release, 'flux-system')).values as Spec;
const solver = (rendered: RenderedEnvironment, issuer: string) => spec(findObject(rendered, 'ClusterIssuer', issuer)).acme.solvers[0];

/** A chart for constructs tested alone; its App is never synthesized, so nothing is written. */
const testChart = () =>
  new Chart(new App({ outdir: path.join(os.tmpdir(), 'prefect-cdk8s-edge-test-unused') }), 'test', { disableResourceNameHashes: true });

/** prod's configuration with its TLS section replaced (not merged). */
const letsencrypt = (solverConfig: Record<string, unknown>) => [
  { tls: null },
  { tls: { mode: 'letsencrypt', email: 'platform@example.com', solver: solverConfig } },
];
/** cert-manager's cloud identity in the prod variants: the committed IRSA role, replaced. */
const certManagerIdentity = (identity: Record<string, unknown>) => [{ mesh: { certManager: null } }, { mesh: { certManager: identity } }];

const variants: Record<string, RenderedEnvironment> = {
  'letsencrypt http01': buildVariant('prod', letsencrypt({ type: 'http01' })),
  'dns01 route53 with a key Secret': buildVariant(
    'prod',
    letsencrypt({
      type: 'dns01',
      provider: {
        name: 'route53',
        region: 'eu-west-1',
        hostedZoneID: 'Z123',
        accessKeySecret: { name: 'route53-credentials', accessKeyIdKey: 'access-key-id', secretAccessKeyKey: 'secret-access-key' },
      },
    }),
  ),
  'dns01 cloudDNS': buildVariant(
    'prod',
    letsencrypt({
      type: 'dns01',
      provider: { name: 'cloudDNS', project: 'prefect-prod', serviceAccountSecret: { name: 'clouddns-key', key: 'key.json' } },
    }),
  ),
  'dns01 cloudDNS with Workload Identity': buildVariant('prod', [
    ...letsencrypt({ type: 'dns01', provider: { name: 'cloudDNS', project: 'prefect-prod' } }),
    ...certManagerIdentity({
      serviceAccountAnnotations: { 'iam.gke.io/gcp-service-account': 'cert-manager@prefect-prod.iam.gserviceaccount.com' },
    }),
  ]),
  'dns01 cloudDNS without an identity': buildVariant('prod', [
    ...letsencrypt({ type: 'dns01', provider: { name: 'cloudDNS', project: 'prefect-prod' } }),
    { mesh: { certManager: null } },
  ]),
  'dns01 route53 without an identity': buildVariant('prod', { mesh: { certManager: null } }),
  'dns01 cloudflare': buildVariant(
    'prod',
    letsencrypt({ type: 'dns01', provider: { name: 'cloudflare', apiTokenSecret: { name: 'cloudflare-token', key: 'api-token' } } }),
  ),
  'dns01 azureDNS': buildVariant('prod', [
    ...letsencrypt({
      type: 'dns01',
      provider: {
        name: 'azureDNS',
        subscriptionID: 'sub',
        resourceGroupName: 'dns',
        hostedZoneName: 'prefect.example.com',
        managedIdentityClientID: 'client',
      },
    }),
    ...certManagerIdentity({ podLabels: { 'azure.workload.identity/use': 'true' } }),
  ]),
  'dns01 azureDNS with Workload Identity on the service account': buildVariant('prod', [
    ...letsencrypt({
      type: 'dns01',
      provider: { name: 'azureDNS', subscriptionID: 'sub', resourceGroupName: 'dns', hostedZoneName: 'prefect.example.com' },
    }),
    ...certManagerIdentity({
      serviceAccountAnnotations: { 'azure.workload.identity/client-id': '00000000-0000-0000-0000-000000000000' },
      podLabels: { 'azure.workload.identity/use': 'true' },
    }),
  ]),
  'dns01 azureDNS without an identity': buildVariant('prod', [
    ...letsencrypt({
      type: 'dns01',
      provider: { name: 'azureDNS', subscriptionID: 'sub', resourceGroupName: 'dns', hostedZoneName: 'prefect.example.com' },
    }),
    { mesh: { certManager: null } },
  ]),
  existing: buildVariant('prod', VARIANTS.existingTls),
  'gcp preset': buildVariant('prod', { loadBalancer: { provider: 'gcp' } }),
  'azure preset': buildVariant('prod', { loadBalancer: { provider: 'azure' } }),
  'generic preset with user annotations': buildVariant('dev', {
    loadBalancer: { annotations: { 'metallb.universe.tf/address-pool': 'public' }, sourceRanges: ['203.0.113.0/24'] },
  }),
  'l7 aws': buildVariant('prod', { loadBalancer: { mode: 'l7', certificate: ACM_CERTIFICATE } }),
  'l7 gcp': buildVariant('prod', { loadBalancer: { mode: 'l7', provider: 'gcp', externalDns: false, sourceRanges: [] } }),
  'l7 azure behind a NodePort': buildVariant('prod', {
    loadBalancer: { mode: 'l7', provider: 'azure', externalDns: false, sourceRanges: [], serviceType: 'NodePort', trustedProxies: 2 },
  }),
  'l7 generic': buildVariant('dev', { loadBalancer: { mode: 'l7', trustedProxies: 1 } }),
  'l7 aws with HTTP-01 configured': buildVariant('staging', { loadBalancer: { mode: 'l7', certificate: ACM_CERTIFICATE } }),
  'trust domain': buildVariant('prod', { mesh: { trustDomain: 'prod.prefect.example.com' } }),
  'bring your own mesh': buildVariant('staging', VARIANTS.ownMesh),
  'platform profile gke': buildVariant('prod', { mesh: { platform: 'gke' } }),
  'long hostname': buildVariant('dev', { hostnames: { api: `${'a'.repeat(60)}.example.com` } }),
};
const committed = Object.fromEntries(ENVIRONMENTS.map((environment) => [environment, build(environment)]));

describe.each(Object.entries({ ...committed, ...variants }))('%s', (_, rendered) => {
  it('passes strict validation', () => {
    expect(checkEnvironment(rendered, sharedValidator())).toEqual([]);
  });

  it("passes its CRDs' CEL rules", () => {
    const report = { violations: [] as string[], unchecked: [] as string[] };
    for (const { object } of rendered.objects) checkCrdRules(object, report);
    expect(report.violations).toEqual([]);
    expect(report.unchecked).toEqual([]);
  });
});

describe('platform: Flux installs the controllers', () => {
  const prod = committed.prod as RenderedEnvironment;

  it('chains istio-base, istiod, istio-cni and the gateway, and trust-manager after cert-manager', () => {
    const dependsOn = (name: string) =>
      spec(findObject(prod, 'HelmRelease', name, 'flux-system')).dependsOn?.map((entry: { name: string }) => entry.name);
    expect(dependsOn('istio-base')).toBeUndefined();
    expect(dependsOn('istiod')).toEqual(['istio-base']);
    expect(dependsOn('istio-cni')).toEqual(['istiod']);
    expect(dependsOn('istio-ingressgateway')).toEqual(['istio-cni']);
    expect(dependsOn('cert-manager')).toBeUndefined();
    expect(dependsOn('trust-manager')).toEqual(['cert-manager']);
  });

  it('pins chart versions from the configuration, from the upstream repositories', () => {
    const chart = (name: string) => spec(findObject(prod, 'HelmRelease', name, 'flux-system')).chart.spec;
    expect(chart('istiod')).toMatchObject({
      chart: 'istiod',
      version: '1.30.3',
      sourceRef: { kind: 'HelmRepository', name: 'istio', namespace: 'flux-system' },
    });
    expect(chart('istio-ingressgateway')).toMatchObject({ chart: 'gateway', version: '1.30.3' });
    expect(chart('cert-manager')).toMatchObject({ chart: 'cert-manager', version: 'v1.21.1', sourceRef: { name: 'jetstack' } });
    expect(chart('trust-manager')).toMatchObject({ chart: 'trust-manager', version: 'v0.24.0', sourceRef: { name: 'jetstack' } });
    expect(spec(findObject(prod, 'HelmRepository', 'istio', 'flux-system')).url).toBe(
      'https://istio-release.storage.googleapis.com/charts',
    );
    expect(spec(findObject(prod, 'HelmRepository', 'jetstack', 'flux-system')).url).toBe('https://charts.jetstack.io');
    const version = buildVariant('prod', { mesh: { versions: { istio: '1.30.4', certManager: 'v1.21.2' } } });
    expect(spec(findObject(version, 'HelmRelease', 'istio-cni', 'flux-system')).chart.spec.version).toBe('1.30.4');
    expect(spec(findObject(version, 'HelmRelease', 'cert-manager', 'flux-system')).chart.spec.version).toBe('v1.21.2');
  });

  it('installs each release into its namespace, with remediation', () => {
    const target = (name: string) => spec(findObject(prod, 'HelmRelease', name, 'flux-system'));
    expect(['istio-base', 'istiod', 'istio-cni'].map((name) => target(name).targetNamespace)).toEqual([
      'istio-system',
      'istio-system',
      'istio-system',
    ]);
    expect(target('istio-ingressgateway').targetNamespace).toBe('istio-ingress');
    expect(target('cert-manager').targetNamespace).toBe('cert-manager');
    expect(target('trust-manager').targetNamespace).toBe('cert-manager');
    for (const release of objectsOfKind(prod, 'HelmRelease')) {
      expect(spec(release).install.remediation.retries, release.metadata.name).toBeGreaterThan(0);
      expect(spec(release).upgrade.remediation.retries, release.metadata.name).toBeGreaterThan(0);
    }
  });

  it('uses the Istio CNI agent, since the Prefect namespaces forbid istio-init', () => {
    // Top-level keys of the istiod chart 1.30 (a `pilot:` key is ignored by it).
    expect(values(prod, 'istiod')).toMatchObject({ cni: { enabled: true }, autoscaleMin: 2, replicaCount: 2 });
    expect(values(prod, 'istiod').pilot).toBeUndefined();
    expect(values(prod, 'istiod').global).toEqual({ priorityClassName: 'prefect-platform' });
    const gke = variants['platform profile gke'] as RenderedEnvironment;
    for (const release of ['istio-base', 'istio-cni', 'istio-ingressgateway'])
      expect(values(gke, release).global, release).toEqual({ platform: 'gke' });
    expect(values(gke, 'istiod').global).toEqual({ platform: 'gke', priorityClassName: 'prefect-platform' });
  });

  it("installs cert-manager with its CRDs and trust-manager reading the CA from cert-manager's namespace", () => {
    expect(values(prod, 'cert-manager')).toMatchObject({ crds: { enabled: true, keep: true } });
    expect(values(committed.dev as RenderedEnvironment, 'cert-manager').serviceAccount).toBeUndefined();
    expect(values(committed.dev as RenderedEnvironment, 'cert-manager').podLabels).toBeUndefined();
    expect(values(prod, 'trust-manager')).toMatchObject({ crds: { enabled: true }, app: { trust: { namespace: 'cert-manager' } } });
  });

  it('switches each controller off for clusters that have it', () => {
    // prod's IRSA role is for the cert-manager it installs: without one, it goes too.
    const without = buildVariant('prod', [{ mesh: { certManager: null } }, { mesh: { installCertManager: false } }]);
    expect(
      objectsOfKind(without, 'HelmRelease')
        .map((release) => release.metadata.name)
        .sort(),
    ).toEqual(['istio-base', 'istio-cni', 'istio-ingressgateway', 'istiod', 'trust-manager']);
    expect(spec(findObject(without, 'HelmRelease', 'trust-manager', 'flux-system')).dependsOn).toBeUndefined();
    const neither = buildVariant('prod', [
      { mesh: { certManager: null } },
      { mesh: { installCertManager: false, installTrustManager: false } },
    ]);
    expect(objectsOfKind(neither, 'HelmRepository').map((repository) => repository.metadata.name)).toEqual(['istio']);
  });

  it("configures istiod to serve the HTTP-01 solver's Ingress on the gateway, with an IngressClass only when needed", () => {
    const http01 = committed.staging as RenderedEnvironment;
    expect(values(http01, 'istiod').meshConfig).toEqual({
      trustDomain: 'cluster.local',
      ingressClass: 'istio',
      ingressControllerMode: 'STRICT',
      ingressSelector: 'ingressgateway',
      ingressService: 'istio-ingressgateway',
    });
    expect(spec(findObject(http01, 'IngressClass', 'istio'))).toEqual({ controller: 'istio.io/ingress-controller' });
    expect(objectsOfKind(prod, 'IngressClass')).toEqual([]);
  });
});

describe('platform: what the controllers ask of the cluster', () => {
  it("lists the Helm releases' pods for the capacity check, only for what is installed", () => {
    const prod = edgeControllerWorkloads(loadEnvironment('prod'));
    expect(
      prod.map((workload) => [
        workload.namespace,
        workload.name,
        workload.minReplicas,
        workload.maxReplicas,
        workload.cpu,
        workload.memory,
        workload.perNode ?? false,
      ]),
    ).toEqual([
      ['istio-system', 'istiod', 2, 5, 0.5, 2048 * 2 ** 20, false],
      ['istio-system', 'istio-cni-node', 1, 1, 0.1, 100 * 2 ** 20, true],
      ['istio-ingress', 'istio-ingressgateway', 3, 6, 0.5, 512 * 2 ** 20, false],
      ['cert-manager', 'cert-manager', 1, 1, 0.05, 128 * 2 ** 20, false],
      ['cert-manager', 'cert-manager-webhook', 1, 1, 0.01, 64 * 2 ** 20, false],
      ['cert-manager', 'cert-manager-cainjector', 1, 1, 0.01, 128 * 2 ** 20, false],
      ['cert-manager', 'trust-manager', 1, 1, 0.01, 64 * 2 ** 20, false],
    ]);
    const byo = {
      ...loadEnvironment('prod'),
      mesh: { ...loadEnvironment('prod').mesh, install: false, installCertManager: false, installTrustManager: false },
    };
    expect(edgeControllerWorkloads(byo)).toEqual([]);
  });

  it('sets the requests it counts on the cert-manager and trust-manager pods', () => {
    const prod = committed.prod as RenderedEnvironment;
    expect(values(prod, 'cert-manager')).toMatchObject({
      resources: { requests: { cpu: '50m', memory: '128Mi' } },
      webhook: { resources: { requests: { cpu: '10m', memory: '64Mi' } } },
      cainjector: { resources: { requests: { cpu: '10m', memory: '128Mi' } } },
    });
    expect(values(prod, 'trust-manager').resources).toEqual({ requests: { cpu: '10m', memory: '64Mi' } });
  });
});

describe('platform: the ingress gateway', () => {
  const prod = committed.prod as RenderedEnvironment;
  const dev = committed.dev as RenderedEnvironment;

  it('runs the configured replicas with an HPA, a PDB and a strict zone spread in a multi-zone cluster', () => {
    const gateway = values(prod, 'istio-ingressgateway');
    expect(gateway).toMatchObject({
      replicaCount: 3,
      autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 6 },
      podDisruptionBudget: { maxUnavailable: 1, unhealthyPodEvictionPolicy: 'AlwaysAllow' },
      resources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { memory: '1Gi' } },
      labels: { istio: 'ingressgateway' },
      serviceAccount: { create: true, name: 'istio-ingressgateway' },
    });
    expect(gateway.topologySpreadConstraints).toEqual([
      {
        maxSkew: 1,
        topologyKey: 'topology.kubernetes.io/zone',
        whenUnsatisfiable: 'DoNotSchedule',
        labelSelector: { matchLabels: { istio: 'ingressgateway' } },
      },
      {
        maxSkew: 1,
        topologyKey: 'kubernetes.io/hostname',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: { istio: 'ingressgateway' } },
      },
    ]);
  });

  it('runs one replica without an HPA or PDB in dev, spread best-effort', () => {
    const gateway = values(dev, 'istio-ingressgateway');
    expect(gateway).toMatchObject({ replicaCount: 1, autoscaling: { enabled: false }, podDisruptionBudget: {} });
    expect(gateway.topologySpreadConstraints[0].whenUnsatisfiable).toBe('ScheduleAnyway');
  });

  it('exposes a LoadBalancer that keeps client addresses, with the AWS NLB preset, source ranges and external-dns', () => {
    expect(values(prod, 'istio-ingressgateway').service).toEqual({
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Local',
      loadBalancerSourceRanges: ['0.0.0.0/0'],
      annotations: {
        'service.beta.kubernetes.io/aws-load-balancer-type': 'external',
        'service.beta.kubernetes.io/aws-load-balancer-nlb-target-type': 'ip',
        'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internet-facing',
        'service.beta.kubernetes.io/aws-load-balancer-attributes': 'load_balancing.cross_zone.enabled=true',
        // IP targets over TCP do not keep the client's address unless asked to.
        'service.beta.kubernetes.io/aws-load-balancer-target-group-attributes': 'preserve_client_ip.enabled=true',
        'service.beta.kubernetes.io/aws-load-balancer-healthcheck-protocol': 'http',
        'service.beta.kubernetes.io/aws-load-balancer-healthcheck-port': '15021',
        'service.beta.kubernetes.io/aws-load-balancer-healthcheck-path': '/healthz/ready',
        'external-dns.alpha.kubernetes.io/hostname': 'api.prefect.example.com,app.prefect.example.com',
      },
    });
    // In L4 mode nothing is trusted beyond the connection's own source address.
    expect(values(prod, 'istio-ingressgateway').podAnnotations).toBeUndefined();
  });

  it.each([
    ['gcp preset', { 'cloud.google.com/l4-rbs': 'enabled' }],
    [
      'azure preset',
      {
        'service.beta.kubernetes.io/azure-load-balancer-internal': 'false',
        'service.beta.kubernetes.io/azure-load-balancer-tcp-idle-timeout': '30',
      },
    ],
  ])('applies the %s', (variant, expected) => {
    const annotations = values(variants[variant] as RenderedEnvironment, 'istio-ingressgateway').service.annotations;
    expect(annotations).toEqual({
      ...expected,
      'external-dns.alpha.kubernetes.io/hostname': 'api.prefect.example.com,app.prefect.example.com',
    });
  });

  it("adds nothing for the generic preset but the user's annotations and ranges", () => {
    expect(LOAD_BALANCER_PRESETS.generic).toEqual({});
    expect(values(dev, 'istio-ingressgateway').service).toEqual({ type: 'LoadBalancer', externalTrafficPolicy: 'Local', annotations: {} });
    const generic = values(variants['generic preset with user annotations'] as RenderedEnvironment, 'istio-ingressgateway').service;
    expect(generic).toEqual({
      type: 'LoadBalancer',
      externalTrafficPolicy: 'Local',
      annotations: { 'metallb.universe.tf/address-pool': 'public' },
      loadBalancerSourceRanges: ['203.0.113.0/24'],
    });
  });

  it('sets only values the gateway chart accepts (its values.schema.json has additionalProperties: false)', () => {
    // The top-level keys of istio/istio manifests/charts/gateway/values.schema.json that this project uses.
    const accepted = [
      'global',
      'labels',
      'serviceAccount',
      'replicaCount',
      'autoscaling',
      'podDisruptionBudget',
      'topologySpreadConstraints',
      'resources',
      'service',
      'podAnnotations',
      'priorityClassName',
    ];
    for (const rendered of [
      prod,
      dev,
      variants['l7 aws'],
      variants['l7 gcp'],
      variants['l7 azure behind a NodePort'],
      variants['platform profile gke'],
    ] as RenderedEnvironment[]) {
      const gateway = values(rendered, 'istio-ingressgateway');
      expect(Object.keys(gateway).filter((key) => !accepted.includes(key))).toEqual([]);
      expect(
        Object.keys(gateway.service).filter(
          (key) => !['type', 'annotations', 'externalTrafficPolicy', 'loadBalancerSourceRanges', 'ports'].includes(key),
        ),
      ).toEqual([]);
    }
  });

  it('lets user annotations override the preset', () => {
    const rendered = buildVariant('prod', {
      loadBalancer: { annotations: { 'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internal' } },
    });
    expect(values(rendered, 'istio-ingressgateway').service.annotations['service.beta.kubernetes.io/aws-load-balancer-scheme']).toBe(
      'internal',
    );
  });
});

describe('edge: TLS', () => {
  const dev = committed.dev as RenderedEnvironment;
  const staging = committed.staging as RenderedEnvironment;
  const prod = committed.prod as RenderedEnvironment;

  it("issues one certificate for both hosts in the gateway's namespace", () => {
    expect(spec(findObject(prod, 'Certificate', 'prefect-tls', 'istio-ingress'))).toMatchObject({
      secretName: 'prefect-tls',
      commonName: 'api.prefect.example.com',
      dnsNames: ['api.prefect.example.com', 'app.prefect.example.com'],
      duration: '2160h',
      renewBefore: '720h',
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
      issuerRef: { name: 'prefect-letsencrypt', kind: 'ClusterIssuer', group: 'cert-manager.io' },
    });
    const tuned = buildVariant('prod', { tls: { duration: '1440h', renewBefore: '360h' } });
    expect(spec(findObject(tuned, 'Certificate', 'prefect-tls', 'istio-ingress'))).toMatchObject({
      duration: '1440h',
      renewBefore: '360h',
    });
  });

  it('leaves out a common name longer than 64 characters', () => {
    const certificate = spec(findObject(variants['long hostname'] as RenderedEnvironment, 'Certificate', 'prefect-tls', 'istio-ingress'));
    expect(certificate.commonName).toBeUndefined();
    expect(certificate.dnsNames[0]).toHaveLength(72);
  });

  it("serves HTTPS for both hosts from one server, TLS 1.2 or newer, with the certificate's Secret", () => {
    expect(spec(findObject(prod, 'Gateway', 'prefect', 'istio-ingress'))).toEqual({
      selector: { istio: 'ingressgateway' },
      servers: [
        {
          name: 'https',
          port: { number: 443, name: 'https', protocol: 'HTTPS' },
          hosts: ['./api.prefect.example.com', './app.prefect.example.com'],
          tls: { mode: 'SIMPLE', credentialName: 'prefect-tls', minProtocolVersion: 'TLSV1_2' },
        },
      ],
    });
  });

  it('letsencrypt with DNS-01 on route53 uses the pod identity when no key Secret is given', () => {
    expect(spec(findObject(prod, 'ClusterIssuer', 'prefect-letsencrypt')).acme).toMatchObject({
      server: 'https://acme-v02.api.letsencrypt.org/directory',
      email: 'platform@example.com',
      privateKeySecretRef: { name: 'prefect-letsencrypt-account' },
      solvers: [{ dns01: { route53: { region: 'us-east-1' } } }],
    });
  });

  it.each([
    [
      'dns01 route53 with a key Secret',
      {
        route53: {
          region: 'eu-west-1',
          hostedZoneID: 'Z123',
          accessKeyIDSecretRef: { name: 'route53-credentials', key: 'access-key-id' },
          secretAccessKeySecretRef: { name: 'route53-credentials', key: 'secret-access-key' },
        },
      },
    ],
    ['dns01 cloudDNS', { cloudDNS: { project: 'prefect-prod', serviceAccountSecretRef: { name: 'clouddns-key', key: 'key.json' } } }],
    ['dns01 cloudDNS with Workload Identity', { cloudDNS: { project: 'prefect-prod' } }],
    ['dns01 cloudflare', { cloudflare: { apiTokenSecretRef: { name: 'cloudflare-token', key: 'api-token' } } }],
    [
      'dns01 azureDNS',
      {
        azureDNS: {
          subscriptionID: 'sub',
          resourceGroupName: 'dns',
          hostedZoneName: 'prefect.example.com',
          managedIdentity: { clientID: 'client' },
        },
      },
    ],
  ])('letsencrypt with %s references credentials by Secret only', (variant, dns01) => {
    const rendered = variants[variant] as RenderedEnvironment;
    expect(solver(rendered, 'prefect-letsencrypt')).toEqual({ dns01 });
    expect(objectsOfKind(rendered, 'Secret')).toEqual([]);
    expect(objectsOfKind(rendered, 'IngressClass')).toEqual([]);
  });

  it("letsencrypt with HTTP-01 answers through Istio's ingress class, from a solver outside the mesh", () => {
    const rendered = variants['letsencrypt http01'] as RenderedEnvironment;
    expect(solver(rendered, 'prefect-letsencrypt')).toEqual({
      http01: {
        ingress: {
          ingressClassName: 'istio',
          serviceType: 'ClusterIP',
          podTemplate: { metadata: { labels: { 'sidecar.istio.io/inject': 'false' } } },
        },
      },
    });
    expect(findObject(rendered, 'IngressClass', 'istio').spec).toEqual({ controller: 'istio.io/ingress-controller' });
    expect(spec(findObject(rendered, 'VirtualService', 'prefect-http-redirect', 'istio-ingress')).gateways).toEqual([
      'istio-ingress/prefect-http-redirect',
    ]);
  });

  it('letsencrypt-staging uses the staging directory and warns', () => {
    expect(spec(findObject(staging, 'ClusterIssuer', 'prefect-letsencrypt-staging')).acme.server).toBe(
      'https://acme-staging-v02.api.letsencrypt.org/directory',
    );
    expect(spec(findObject(staging, 'Certificate', 'prefect-tls', 'istio-ingress')).issuerRef.name).toBe('prefect-letsencrypt-staging');
    expect(staging.warnings).toEqual([expect.stringContaining('letsencrypt-staging')]);
  });

  it("selfsigned chains a self-signed root, a CA certificate in cert-manager's namespace and a CA issuer", () => {
    expect(names(dev, 'edge').filter((name) => /ClusterIssuer|Certificate|Bundle/.test(name))).toEqual([
      'Bundle -/prefect-ca-bundle',
      'Certificate cert-manager/prefect-root-ca',
      'Certificate istio-ingress/prefect-tls',
      'ClusterIssuer -/prefect-ca',
      'ClusterIssuer -/prefect-selfsigned',
    ]);
    expect(spec(findObject(dev, 'ClusterIssuer', 'prefect-selfsigned'))).toEqual({ selfSigned: {} });
    expect(spec(findObject(dev, 'Certificate', 'prefect-root-ca', 'cert-manager'))).toMatchObject({
      isCA: true,
      secretName: 'prefect-root-ca',
      duration: '87600h',
      privateKey: { rotationPolicy: 'Never' },
      issuerRef: { name: 'prefect-selfsigned', kind: 'ClusterIssuer' },
    });
    expect(spec(findObject(dev, 'ClusterIssuer', 'prefect-ca'))).toEqual({ ca: { secretName: 'prefect-root-ca' } });
    expect(spec(findObject(dev, 'Certificate', 'prefect-tls', 'istio-ingress')).issuerRef.name).toBe('prefect-ca');
  });

  it('selfsigned publishes public roots plus the private CA to the Prefect namespace, and warns about outside clients', () => {
    expect(spec(findObject(dev, 'Bundle', 'prefect-ca-bundle'))).toEqual({
      sources: [{ useDefaultCAs: true }, { secret: { name: 'prefect-root-ca', key: 'ca.crt' } }],
      target: {
        configMap: { key: 'ca-certificates.crt' },
        namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['prefect'] }] },
      },
    });
    expect(dev.warnings).toEqual([expect.stringContaining('PREFECT_API_SSL_CERT_FILE')]);
    expect(objectsOfKind(prod, 'Bundle')).toEqual([]);
    expect(prod.warnings).toEqual([]);
  });

  it("existing serves the user's Secret and issues nothing", () => {
    const rendered = variants.existing as RenderedEnvironment;
    expect(objectsOfKind(rendered, 'ClusterIssuer')).toEqual([]);
    expect(objectsOfKind(rendered, 'Certificate')).toEqual([]);
    expect(spec(findObject(rendered, 'Gateway', 'prefect', 'istio-ingress')).servers[0].tls.credentialName).toBe('prefect-wildcard');
  });
});

describe('edge: L7 on AWS (an NLB TLS listener ends TLS with an ACM certificate)', () => {
  const l7 = variants['l7 aws'] as RenderedEnvironment;
  const annotation = (key: string) =>
    values(l7, 'istio-ingressgateway').service.annotations[`service.beta.kubernetes.io/aws-load-balancer-${key}`];

  it('gives the NLB a TLS listener on 443 only, TLS 1.2 or newer, with the certificate, and plain TCP to the pods', () => {
    const service = values(l7, 'istio-ingressgateway').service;
    expect(service).toMatchObject({ type: 'LoadBalancer', externalTrafficPolicy: 'Local', loadBalancerSourceRanges: ['0.0.0.0/0'] });
    expect(annotation('ssl-cert')).toBe(ACM_CERTIFICATE);
    expect(annotation('ssl-ports')).toBe('443');
    expect(annotation('ssl-negotiation-policy')).toBe('ELBSecurityPolicy-TLS13-1-2-2021-06');
    expect(annotation('backend-protocol')).toBe('tcp');
    // The chart's ports: 443 reaches the gateway's port 443, which serves plain HTTP.
    expect(service.ports).toBeUndefined();
  });

  it('passes client addresses by PROXY protocol v2, which the gateway reads, trusting no X-Forwarded-For hop', () => {
    expect(annotation('proxy-protocol')).toBe('*');
    expect(annotation('target-group-attributes')).toBe('preserve_client_ip.enabled=true');
    const gateway = values(l7, 'istio-ingressgateway');
    expect(JSON.parse(gateway.podAnnotations['proxy.istio.io/config'])).toEqual({ gatewayTopology: { proxyProtocol: {} } });
    // Health checks go to the status listener, which reads no PROXY header.
    expect(annotation('healthcheck-port')).toBe('15021');
  });

  it('serves the decrypted port 443 as HTTP and redirects port 80 at the gateway, with no issuer or certificate', () => {
    expect(spec(findObject(l7, 'Gateway', 'prefect', 'istio-ingress')).servers).toEqual([
      {
        name: 'https-terminated',
        port: { number: 443, name: 'http-terminated-tls', protocol: 'HTTP' },
        hosts: ['./api.prefect.example.com', './app.prefect.example.com'],
      },
    ]);
    expect(spec(findObject(l7, 'Gateway', 'prefect-http-redirect', 'istio-ingress')).servers).toEqual([
      {
        name: 'http',
        port: { number: 80, name: 'http', protocol: 'HTTP' },
        hosts: ['./api.prefect.example.com', './app.prefect.example.com'],
        tls: { httpsRedirect: true },
      },
    ]);
    for (const kind of ['Certificate', 'ClusterIssuer', 'Bundle', 'IngressClass']) expect(objectsOfKind(l7, kind), kind).toEqual([]);
    const http01 = variants['l7 aws with HTTP-01 configured'] as RenderedEnvironment;
    expect(objectsOfKind(http01, 'IngressClass')).toEqual([]);
    expect(
      objectsOfKind(http01, 'VirtualService')
        .map((vs) => vs.metadata.name)
        .sort(),
    ).toEqual(['prefect-api', 'prefect-app']);
  });

  it('tells the services the client used HTTPS, since Envoy would say "http" on the plain connection', () => {
    for (const name of ['prefect-api', 'prefect-app']) {
      for (const route of spec(findObject(l7, 'VirtualService', name, 'istio-ingress')).http) {
        expect(route.headers, `${name} ${route.name}`).toEqual({ request: { set: { 'x-forwarded-proto': 'https' } } });
      }
    }
    // TLS at the gateway: Envoy knows the scheme itself.
    const l4 = committed.prod as RenderedEnvironment;
    for (const route of spec(findObject(l4, 'VirtualService', 'prefect-api', 'istio-ingress')).http) expect(route.headers).toBeUndefined();
  });

  it('warns that the TLS settings are unused and names the certificate', () => {
    expect(l7.warnings).toEqual([
      expect.stringContaining(`the NLB ends TLS with the ACM certificate ${ACM_CERTIFICATE}, so tls.mode "letsencrypt" is not used`),
    ]);
  });
});

describe('edge: L7 behind an HTTP(S) proxy (gcp, azure, generic)', () => {
  const gcp = variants['l7 gcp'] as RenderedEnvironment;
  const azure = variants['l7 azure behind a NodePort'] as RenderedEnvironment;
  const generic = variants['l7 generic'] as RenderedEnvironment;
  const topology = (rendered: RenderedEnvironment) =>
    JSON.parse(values(rendered, 'istio-ingressgateway').podAnnotations['proxy.istio.io/config']).gatewayTopology;

  it('exposes the gateway to the proxy by a ClusterIP (or NodePort) Service on ports 15021 and 80, not by a load balancer', () => {
    const ports = [
      { name: 'status-port', port: 15021, protocol: 'TCP', targetPort: 15021 },
      { name: 'http2', port: 80, protocol: 'TCP', targetPort: 80 },
    ];
    // Container-native load balancing on GKE: the proxy targets the pods.
    expect(values(gcp, 'istio-ingressgateway').service).toEqual({
      type: 'ClusterIP',
      annotations: { 'cloud.google.com/neg': '{"ingress": true}' },
      ports,
    });
    expect(values(azure, 'istio-ingressgateway').service).toEqual({ type: 'NodePort', annotations: {}, ports });
    expect(values(generic, 'istio-ingressgateway').service).toEqual({ type: 'ClusterIP', annotations: {}, ports });
  });

  it('trusts the X-Forwarded-For hops each proxy appends: 2 on Google Cloud by default, as configured otherwise', () => {
    expect(topology(gcp)).toEqual({ numTrustedProxies: 2 });
    expect(topology(azure)).toEqual({ numTrustedProxies: 2 });
    expect(topology(generic)).toEqual({ numTrustedProxies: 1 });
    const azureDefault = buildVariant('prod', { loadBalancer: { mode: 'l7', provider: 'azure', externalDns: false, sourceRanges: [] } });
    expect(topology(azureDefault)).toEqual({ numTrustedProxies: 1 });
  });

  it('serves HTTP on port 80 only, with no redirect, issuer or certificate, and leaves X-Forwarded-Proto to the proxy', () => {
    for (const [rendered, domain] of [
      [gcp, 'prefect.example.com'],
      [azure, 'prefect.example.com'],
      [generic, 'prefect.dev.example.com'],
    ] as const) {
      expect(objectsOfKind(rendered, 'Gateway').map((gateway) => gateway.metadata.name)).toEqual(['prefect']);
      expect(spec(findObject(rendered, 'Gateway', 'prefect', 'istio-ingress')).servers).toEqual([
        { name: 'http', port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: [`./api.${domain}`, `./app.${domain}`] },
      ]);
      for (const kind of ['Certificate', 'ClusterIssuer', 'Bundle', 'IngressClass'])
        expect(objectsOfKind(rendered, kind), kind).toEqual([]);
      expect(spec(findObject(rendered, 'VirtualService', 'prefect-api', 'istio-ingress')).http[0].headers).toBeUndefined();
      expect(spec(findObject(rendered, 'VirtualService', 'prefect-api', 'istio-ingress')).gateways).toEqual(['istio-ingress/prefect']);
    }
  });

  it('warns what the proxy must do and how many hops the gateway trusts', () => {
    expect(gcp.warnings).toEqual([
      expect.stringContaining('TLS ends at your HTTP(S) proxy, so tls.mode "letsencrypt" is not used'),
      expect.stringContaining('trusts 2 proxy hop(s)'),
    ]);
    expect(gcp.warnings[0]).toContain(
      'forward to the Service istio-ingressgateway.istio-ingress port 80, health-checking port 15021 path /healthz/ready',
    );
  });
});

describe('load balancer: combinations that cannot work fail synthesis, naming the field', () => {
  const fails = (environment: string, loadBalancer: Record<string, unknown>) => () => buildVariant(environment, { loadBalancer });

  it.each([
    [
      'fails on L7 on aws without a certificate',
      'prod',
      { mode: 'l7' },
      'loadBalancer.certificate',
      'expected the ARN of the ACM certificate',
    ],
    [
      'fails on a certificate in L4 mode',
      'prod',
      { certificate: ACM_CERTIFICATE },
      'loadBalancer.certificate',
      'expected only with mode "l7" and provider "aws"',
    ],
    [
      'fails on a certificate that is not an ACM ARN',
      'prod',
      { mode: 'l7', certificate: 'prefect-cert' },
      'loadBalancer.certificate',
      'expected the ARN of an ACM certificate',
    ],
    [
      'fails on trusted proxies behind an NLB',
      'prod',
      { mode: 'l7', certificate: ACM_CERTIFICATE, trustedProxies: 1 },
      'loadBalancer.trustedProxies',
      'expected none with mode "l7" and provider "aws"',
    ],
    [
      'fails on L7 generic without trusted proxies',
      'dev',
      { mode: 'l7' },
      'loadBalancer.trustedProxies',
      'expected the number of HTTP proxies in front of the gateway',
    ],
    [
      'fails on trusted proxies in L4 mode',
      'dev',
      { trustedProxies: 1 },
      'loadBalancer.trustedProxies',
      'expected only with loadBalancer.mode "l7"',
    ],
    [
      'fails on source ranges behind an HTTP(S) proxy',
      'prod',
      { mode: 'l7', provider: 'gcp', externalDns: false },
      'loadBalancer.sourceRanges',
      'expected none with mode "l7" and provider "gcp"',
    ],
    [
      'fails on external-dns behind an HTTP(S) proxy',
      'prod',
      { mode: 'l7', provider: 'azure', sourceRanges: [] },
      'loadBalancer.externalDns',
      'expected false with mode "l7" and provider "azure"',
    ],
    [
      'fails on a Service type with a load balancer',
      'prod',
      { serviceType: 'NodePort' },
      'loadBalancer.serviceType',
      'expected only with mode "l7" and provider "gcp", "azure" or "generic"',
    ],
  ])('%s', (_, environment, loadBalancer, field, message) => {
    const build = fails(environment, loadBalancer);
    expect(build).toThrow(`config/${environment}.yaml: ${field}: `);
    expect(build).toThrow(message);
  });
});

describe('load balancer: exposure per mode and provider, directly', () => {
  const settings = { annotations: {}, sourceRanges: [], externalDnsHostnames: [] };

  it('decides where TLS ends', () => {
    expect(tlsTermination('l4', 'aws')).toBe('gateway');
    expect(tlsTermination('l7', 'aws')).toBe('load-balancer');
    for (const provider of ['gcp', 'azure', 'generic'] as const) expect(tlsTermination('l7', provider)).toBe('http-proxy');
  });

  it('fails on what the schema also rejects, for callers that bypass it, with the same rule and words', () => {
    const fails = (overrides: Partial<LoadBalancerSettings>, field: string, words: string) =>
      expect(() => gatewayExposure({ ...settings, ...overrides } as LoadBalancerSettings)).toThrow(
        new RegExp(`^loadBalancer \\(mode \\w+, provider \\w+\\): ${field}: .*${words}`),
      );
    fails({ mode: 'l7', provider: 'aws' }, 'certificate', 'expected the ARN of the ACM certificate');
    fails({ mode: 'l7', provider: 'generic' }, 'trustedProxies', 'expected the number of HTTP proxies');
    fails({ mode: 'l7', provider: 'gcp', sourceRanges: ['10.0.0.0/8'] }, 'sourceRanges', 'restrict clients on your HTTP\\(S\\) proxy');
    fails({ mode: 'l7', provider: 'gcp', externalDnsHostnames: ['api.example.com'] }, 'externalDns', 'let external-dns read the hostnames');
    fails({ mode: 'l4', provider: 'aws', trustedProxies: 1 }, 'trustedProxies', 'expected only with loadBalancer.mode "l7"');
    fails({ mode: 'l4', provider: 'aws', certificate: ACM_CERTIFICATE }, 'certificate', 'expected only with mode "l7" and provider "aws"');
    fails({ mode: 'l4', provider: 'gcp', serviceType: 'ClusterIP' }, 'serviceType', 'expected only with mode "l7"');
  });

  it("lets the user's annotations win over the L7 preset", () => {
    const exposure = gatewayExposure({
      ...settings,
      mode: 'l7',
      provider: 'aws',
      certificate: ACM_CERTIFICATE,
      annotations: { 'service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy': 'ELBSecurityPolicy-TLS13-1-3-2021-06' },
    });
    expect(exposure.annotations['service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy']).toBe(
      'ELBSecurityPolicy-TLS13-1-3-2021-06',
    );
    expect(exposure).toMatchObject({
      tlsTermination: 'load-balancer',
      serviceType: 'LoadBalancer',
      proxyProtocol: true,
      trustedProxies: 0,
    });
  });
});

describe('edge: bring your own mesh', () => {
  const byo = variants['bring your own mesh'] as RenderedEnvironment;

  it('emits no Helm releases and no mesh namespaces, only the routing, TLS and policies', () => {
    expect(objectsOfKind(byo, 'HelmRelease')).toEqual([]);
    expect(objectsOfKind(byo, 'HelmRepository')).toEqual([]);
    expect(objectsOfKind(byo, 'IngressClass')).toEqual([]);
    expect(names(byo, 'platform').filter((name) => name.startsWith('Namespace '))).toEqual([
      'Namespace -/prefect',
      'Namespace -/prefect-data',
    ]);
  });

  it("binds the Gateway to the user's gateway pods and namespace, and allows their identity", () => {
    expect(spec(findObject(byo, 'Gateway', 'prefect', 'gateways')).selector).toEqual({ app: 'gateway', istio: 'public' });
    expect(spec(findObject(byo, 'Certificate', 'prefect-tls', 'gateways')).secretName).toBe('prefect-tls');
    expect(spec(findObject(byo, 'VirtualService', 'prefect-api', 'gateways')).gateways).toEqual(['gateways/prefect']);
    expect(spec(findObject(byo, 'AuthorizationPolicy', 'nebula-callers', 'prefect')).rules[0].from[0].source.principals).toContain(
      'cluster.local/ns/gateways/sa/istio-ingressgateway-service-account',
    );
  });

  it("warns about what the user's mesh must provide", () => {
    expect(byo.warnings).toEqual([
      expect.stringContaining('letsencrypt-staging'),
      expect.stringContaining('Istio CNI node agent'),
      expect.stringContaining('Ingress objects of class "istio"'),
    ]);
  });

  it('tells the owner of the gateway what L7 on AWS and a custom trust domain need of it', () => {
    const rendered = buildVariant('staging', [
      { mesh: { install: false, installCertManager: false, installTrustManager: false, trustDomain: 'staging.example.com' } },
      { loadBalancer: { mode: 'l7', certificate: ACM_CERTIFICATE } },
    ]);
    expect(rendered.warnings).toEqual(
      expect.arrayContaining([
        expect.stringContaining(`service.beta.kubernetes.io/aws-load-balancer-ssl-cert: "${ACM_CERTIFICATE}"`),
        expect.stringContaining('proxy.istio.io/config: \'{"gatewayTopology":{"proxyProtocol":{}}}\''),
        expect.stringContaining("trust domain staging.example.com, which must be your mesh's meshConfig.trustDomain"),
      ]),
    );
    expect(spec(findObject(rendered, 'AuthorizationPolicy', 'nebula-callers', 'prefect')).rules[0].from[0].source.principals).toContain(
      'staging.example.com/ns/istio-ingress/sa/istio-ingressgateway',
    );
  });

  it('uses the selector for the gateway chart when Flux installs it', () => {
    const rendered = buildVariant('prod', { mesh: { gatewaySelector: { istio: 'prefect-gateway' } } });
    expect(values(rendered, 'istio-ingressgateway').labels).toEqual({ istio: 'prefect-gateway' });
    expect(values(rendered, 'istiod').meshConfig.ingressSelector).toBe('prefect-gateway');
    expect(spec(findObject(rendered, 'Gateway', 'prefect', 'istio-ingress')).selector).toEqual({ istio: 'prefect-gateway' });
  });
});

describe('edge: mesh security', () => {
  const prod = committed.prod as RenderedEnvironment;
  const routed = ['auth', 'events', 'nebula', 'server', 'ui'];

  it('requires mutual TLS and denies by default in the Prefect and data namespaces', () => {
    for (const namespace of ['prefect', 'prefect-data']) {
      expect(spec(findObject(prod, 'PeerAuthentication', 'default', namespace))).toEqual({ mtls: { mode: 'STRICT' } });
      expect(spec(findObject(prod, 'AuthorizationPolicy', 'deny-all', namespace))).toEqual({});
    }
    expect(objectsOfKind(prod, 'PeerAuthentication')).toHaveLength(2);
  });

  it("allows the ingress gateway's pods and identity to the routed web services' ports only", () => {
    const gateway = 'cluster.local/ns/istio-ingress/sa/istio-ingressgateway';
    const admitting = objectsOfKind(prod, 'AuthorizationPolicy').filter((policy) =>
      (spec(policy).rules ?? []).some((rule: any) => rule.from[0].source.principals.includes(gateway)),
    );
    expect(admitting.map((policy) => policy.metadata.name).sort()).toEqual(routed.map((service) => `${service}-callers`));
    expect(spec(findObject(prod, 'AuthorizationPolicy', 'server-callers', 'prefect'))).toMatchObject({
      action: 'ALLOW',
      selector: { matchLabels: { 'app.kubernetes.io/name': 'server', 'app.kubernetes.io/instance': 'prefect-prod' } },
      rules: [{ from: [{ source: { principals: expect.arrayContaining([gateway]) } }], to: [{ operation: { ports: ['8080'] } }] }],
    });
    // The NetworkPolicy admits the gateway's pods, not its whole namespace.
    const fromIngress = (spec(findObject(prod, 'NetworkPolicy', 'server', 'prefect')).ingress as any[]).filter((rule) =>
      rule.from.some((peer: any) => peer.namespaceSelector?.matchLabels['kubernetes.io/metadata.name'] === 'istio-ingress'),
    );
    expect(fromIngress).toEqual([
      {
        from: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'istio-ingress' } },
            podSelector: { matchLabels: { istio: 'ingressgateway' } },
          },
        ],
        ports: [{ port: 8080, protocol: 'TCP' }],
      },
    ]);
  });

  it('gives each routed backend mutual TLS, bounded pools and outlier detection', () => {
    expect(
      objectsOfKind(prod, 'DestinationRule')
        .map((rule) => rule.metadata.name)
        .sort(),
    ).toEqual(routed);
    const nebula = spec(findObject(prod, 'DestinationRule', 'nebula', 'prefect'));
    expect(nebula.host).toBe('nebula.prefect.svc.cluster.local');
    expect(nebula.trafficPolicy).toMatchObject({
      tls: { mode: 'ISTIO_MUTUAL' },
      connectionPool: {
        tcp: { maxConnections: 2048, connectTimeout: '5s' },
        http: { http1MaxPendingRequests: 2048, http2MaxRequests: 2048 },
      },
      outlierDetection: {
        consecutiveGatewayErrors: 5,
        consecutive5xxErrors: 0,
        interval: '10s',
        baseEjectionTime: '30s',
        maxEjectionPercent: 50,
      },
    });
    expect(nebula.trafficPolicy.connectionPool.http.h2UpgradePolicy).toBeUndefined();
    const events = spec(findObject(prod, 'DestinationRule', 'events', 'prefect'));
    expect(events.trafficPolicy.connectionPool).toMatchObject({
      tcp: { maxConnections: 16384 },
      http: { h2UpgradePolicy: 'DO_NOT_UPGRADE' },
    });
  });
});

describe("platform: cert-manager's cloud identity for DNS-01", () => {
  const prod = committed.prod as RenderedEnvironment;

  it("annotates cert-manager's ServiceAccount with prod's IRSA role (chart value serviceAccount.annotations), and warns of nothing", () => {
    expect(values(prod, 'cert-manager').serviceAccount).toEqual({
      annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/prefect-prod-cert-manager' },
    });
    expect(values(prod, 'cert-manager').podLabels).toBeUndefined();
    expect(prod.warnings).toEqual([]);
  });

  it("passes GKE Workload Identity as a ServiceAccount annotation, and Azure Workload Identity's pod label (chart value podLabels)", () => {
    expect(values(variants['dns01 cloudDNS with Workload Identity'] as RenderedEnvironment, 'cert-manager').serviceAccount).toEqual({
      annotations: { 'iam.gke.io/gcp-service-account': 'cert-manager@prefect-prod.iam.gserviceaccount.com' },
    });
    const azure = variants['dns01 azureDNS with Workload Identity on the service account'] as RenderedEnvironment;
    expect(values(azure, 'cert-manager')).toMatchObject({
      serviceAccount: { annotations: { 'azure.workload.identity/client-id': '00000000-0000-0000-0000-000000000000' } },
      podLabels: { 'azure.workload.identity/use': 'true' },
    });
    // The client ID may come from the issuer instead (managedIdentity.clientID): then only the label is needed.
    expect(values(variants['dns01 azureDNS'] as RenderedEnvironment, 'cert-manager').podLabels).toEqual({
      'azure.workload.identity/use': 'true',
    });
    for (const variant of [
      'dns01 cloudDNS with Workload Identity',
      'dns01 azureDNS with Workload Identity on the service account',
      'dns01 azureDNS',
    ]) {
      expect((variants[variant] as RenderedEnvironment).warnings, variant).toEqual([]);
    }
  });

  it.each([
    [
      'dns01 route53 without an identity',
      ['mesh.certManager.serviceAccountAnnotations."eks.amazonaws.com/role-arn"', 'EKS Pod Identity', 'cert-manager/cert-manager'],
    ],
    [
      'dns01 cloudDNS without an identity',
      ['mesh.certManager.serviceAccountAnnotations."iam.gke.io/gcp-service-account"', 'roles/dns.admin', 'cert-manager/cert-manager'],
    ],
    [
      'dns01 azureDNS without an identity',
      [
        'mesh.certManager.podLabels."azure.workload.identity/use": "true"',
        'mesh.certManager.serviceAccountAnnotations."azure.workload.identity/client-id"',
        'managedIdentityClientID',
      ],
    ],
  ])('warns when %s, naming what to set', (variant, expected) => {
    const { warnings } = variants[variant] as RenderedEnvironment;
    expect(warnings).toHaveLength(1);
    for (const text of expected) expect(warnings[0]).toContain(text);
  });

  it('does not warn with a key Secret, with cloudflare, or when the cluster brings its own cert-manager', () => {
    for (const variant of ['dns01 route53 with a key Secret', 'dns01 cloudDNS', 'dns01 cloudflare'])
      expect((variants[variant] as RenderedEnvironment).warnings, variant).toEqual([]);
    const own = buildVariant('prod', [{ mesh: { certManager: null } }, { mesh: { installCertManager: false } }]);
    expect(own.warnings).toEqual([]);
  });

  it('names exactly what Azure Workload Identity lacks', () => {
    const solver = {
      type: 'dns01' as const,
      provider: { name: 'azureDNS' as const, subscriptionID: 's', resourceGroupName: 'r', hostedZoneName: 'example.com' },
    };
    const onlyLabel = missingDns01Identity(
      solver,
      { serviceAccountAnnotations: {}, podLabels: { 'azure.workload.identity/use': 'true' } },
      'cert-manager/cert-manager',
    );
    expect(onlyLabel).toContain('azure.workload.identity/client-id');
    expect(onlyLabel).not.toContain('podLabels');
    const onlyClient = missingDns01Identity(
      solver,
      { serviceAccountAnnotations: { 'azure.workload.identity/client-id': 'c' }, podLabels: {} },
      'cert-manager/cert-manager',
    );
    expect(onlyClient).toContain('podLabels."azure.workload.identity/use"');
    expect(onlyClient).not.toContain('client-id"');
    expect(
      missingDns01Identity({ type: 'http01' }, { serviceAccountAnnotations: {}, podLabels: {} }, 'cert-manager/cert-manager'),
    ).toBeUndefined();
  });

  it('fails on an identity for a cert-manager this installation does not install, and on a label value that is not a string', () => {
    expect(() => buildVariant('prod', { mesh: { installCertManager: false } })).toThrow(
      'mesh.certManager: expected only with mesh.installCertManager true',
    );
    expect(() => buildVariant('prod', { mesh: { certManager: { podLabels: { 'azure.workload.identity/use': true } } } })).toThrow(
      'mesh.certManager.podLabels.azure.workload.identity/use',
    );
  });
});

describe('mesh: the trust domain names every identity', () => {
  const custom = variants['trust domain'] as RenderedEnvironment;
  const principals = (rendered: RenderedEnvironment) =>
    objectsOfKind(rendered, 'AuthorizationPolicy').flatMap((policy) =>
      (spec(policy).rules ?? []).flatMap((rule: Spec) => (rule.from ?? []).flatMap((from: Spec) => from.source?.principals ?? [])),
    ) as string[];

  it('configures istiod with it', () => {
    expect(values(custom, 'istiod').meshConfig.trustDomain).toBe('prod.prefect.example.com');
    expect(values(committed.prod as RenderedEnvironment, 'istiod').meshConfig.trustDomain).toBe('cluster.local');
  });

  it("names the gateway, the services and the data servers' clients in it, in every layer", () => {
    const all = principals(custom);
    const layers = new Set(
      custom.objects
        .filter(({ object }) => object.kind === 'AuthorizationPolicy' && (spec(object).rules ?? []).length > 0)
        .map(({ layer }) => layer),
    );
    // Every allow sits beside what it guards: the data servers' in data, the services' (the gateway included) in prefect.
    expect([...layers].sort()).toEqual(['data', 'prefect']);
    expect(all.length).toBeGreaterThan(10);
    for (const principal of all) expect(principal).toMatch(/^prod\.prefect\.example\.com\/ns\/[a-z0-9-]+\/sa\/[a-z0-9-]+$/);
    expect(spec(findObject(custom, 'AuthorizationPolicy', 'nebula-callers', 'prefect')).rules[0].from[0].source.principals).toContain(
      'prod.prefect.example.com/ns/istio-ingress/sa/istio-ingressgateway',
    );
    // The same policies with the default trust domain differ only in it.
    const defaults = principals(committed.prod as RenderedEnvironment);
    expect(defaults.map((principal) => principal.replace(/^cluster\.local\//, 'prod.prefect.example.com/')).sort()).toEqual(
      [...all].sort(),
    );
  });

  it("keeps principalOf's default, and resolves the trust domain from the construct tree", () => {
    const client = { namespace: 'prefect', serviceAccountName: 'nebula' };
    expect(principalOf(client, 'cluster.local')).toBe('cluster.local/ns/prefect/sa/nebula');
    expect(principalOf(client, 'example.org')).toBe('example.org/ns/prefect/sa/nebula');
    expect(() => principalOf(client, 'Not A Domain')).toThrow('is not a trust domain');
  });

  it('fails on a trust domain that is not one', () => {
    expect(() => buildVariant('prod', { mesh: { trustDomain: 'Cluster Local' } })).toThrow('mesh.trustDomain: expected a trust domain');
  });
});

describe('flux: the edge layer does not hold back the layers after it on certificate issuance', () => {
  const kustomization = (rendered: RenderedEnvironment, layer: AppliedLayer) =>
    spec(findObject(rendered, 'Kustomization', kustomizationName(rendered.environment, layer), 'flux-system'));

  it.each(ENVIRONMENTS)(
    '%s: edge is ready once applied and never health-checks a Certificate or ClusterIssuer; every other layer but migrations waits for all',
    (environment) => {
      const rendered = committed[environment] as RenderedEnvironment;
      const edge = kustomization(rendered, 'edge');
      expect(edge.wait).toBe(false);
      for (const check of edge.healthChecks ?? []) expect(['Certificate', 'ClusterIssuer']).not.toContain(check.kind);
      // Applying still needs every CRD, and edge comes after the platform layer that brings them.
      expect(edge.dependsOn).toEqual([{ name: kustomizationName(environment, 'platform'), namespace: 'flux-system' }]);
      expect(kustomization(rendered, 'platform').wait).toBe(true);
      for (const layer of ['platform', 'data', 'prefect'] as const) {
        expect(kustomization(rendered, layer).wait, layer).toBe(true);
        expect(kustomization(rendered, layer).healthChecks, layer).toBeUndefined();
      }
    },
  );

  it('with a private CA waits for the CA bundle that the services mount, with a CEL rule for its Synced condition', () => {
    const edge = kustomization(committed.dev as RenderedEnvironment, 'edge');
    expect(edge.healthChecks).toEqual([{ apiVersion: 'trust.cert-manager.io/v1alpha1', kind: 'Bundle', name: 'prefect-ca-bundle' }]);
    expect(edge.healthCheckExprs).toEqual([
      {
        apiVersion: 'trust.cert-manager.io/v1alpha1',
        kind: 'Bundle',
        current: "status.conditions.exists(c, c.type == 'Synced' && c.status == 'True')",
      },
    ]);
    // The Bundle named is the one the edge layer applies, and the services mount its ConfigMap.
    const bundle = findObject(committed.dev as RenderedEnvironment, 'Bundle', 'prefect-ca-bundle');
    expect(bundle.apiVersion).toBe('trust.cert-manager.io/v1alpha1');
    for (const environment of ['staging', 'prod']) {
      const other = kustomization(committed[environment] as RenderedEnvironment, 'edge');
      expect(other.healthChecks, environment).toBeUndefined();
      expect(other.healthCheckExprs, environment).toBeUndefined();
    }
  });

  it.each(Object.keys(variants))('%s: health-checks exactly the Bundles the edge layer applies', (variant) => {
    const rendered = variants[variant] as RenderedEnvironment;
    const bundles = rendered.objects
      .filter(({ layer, object }) => layer === 'edge' && object.kind === 'Bundle')
      .map(({ object }) => object.metadata.name);
    expect((kustomization(rendered, 'edge').healthChecks ?? []).map((check: Spec) => check.name)).toEqual(bundles);
  });

  it('fails on a health check expression for a kind no health check names', () => {
    const scope = testChart();
    expect(
      () =>
        new FluxLayer(scope, 'layer', {
          name: 'prefect-edge',
          namespace: 'flux-system',
          labels: {},
          path: './dist/test/edge',
          sourceRef: { kind: 'GitRepository', name: 'flux-system', namespace: 'flux-system' },
          interval: '10m',
          retryInterval: '2m',
          timeout: '10m',
          prune: true,
          deletionPolicy: 'Orphan',
          readiness: { healthChecks: [], healthCheckExprs: [{ apiVersion: 'cert-manager.io/v1', kind: 'Certificate', current: 'true' }] },
        }),
    ).toThrow('health check expressions for Certificate, which no health check names');
  });
});

describe("platform: Istio's IngressClass belongs to the control plane construct", () => {
  const controlPlane = (ingressClass: boolean | undefined) => {
    const chart = testChart();
    const plane = new IstioControlPlane(chart, 'IstioControlPlane', {
      fluxNamespace: 'flux-system',
      namespace: 'istio-system',
      version: '1.30.3',
      ingressGatewayService: 'istio-ingressgateway',
      ...(ingressClass === undefined ? {} : { ingressClass }),
      labelsFor: (name) => ({ 'app.kubernetes.io/name': name }),
      istiodReplicas: 1,
    });
    return { plane, manifest: chart.toJson() as Spec[] };
  };

  it('creates the IngressClass "istio" only when asked, as a child of IstioControlPlane', () => {
    const { plane, manifest } = controlPlane(true);
    expect(plane.ingressClass?.node.path).toBe('test/IstioControlPlane/IngressClass');
    expect(manifest.filter((object) => object.kind === 'IngressClass')).toEqual([
      {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'IngressClass',
        metadata: { name: 'istio', labels: { 'app.kubernetes.io/name': 'istio' } },
        spec: { controller: 'istio.io/ingress-controller' },
      },
    ]);
    for (const off of [false, undefined]) {
      const without = controlPlane(off);
      expect(without.plane.ingressClass).toBeUndefined();
      expect(without.manifest.filter((object) => object.kind === 'IngressClass')).toEqual([]);
    }
  });

  it('leaves the platform chart with only constructs as children', () => {
    const staging = committed.staging as RenderedEnvironment;
    expect(findObject(staging, 'IngressClass', 'istio').spec).toEqual({ controller: 'istio.io/ingress-controller' });
    expect(fs.readFileSync(path.join(PROJECT_ROOT, 'lib', 'charts', 'platform-chart.ts'), 'utf8')).not.toMatch(/new k8s\./);
  });
});

describe('the CEL rule check itself', () => {
  it('catches a zero timeout and two TLS credentials on one server', () => {
    const prod = committed.prod as RenderedEnvironment;
    const vs = findObject(prod, 'VirtualService', 'prefect-api', 'istio-ingress');
    const broken = { ...vs, spec: { ...spec(vs), http: [{ ...spec(vs).http[0], timeout: '0s' }] } } as KubernetesObject;
    expect(checkCrdRules(broken).violations).toEqual([
      `VirtualService istio-ingress/prefect-api.spec.http[0].timeout: must be a valid duration greater than 1ms ("0s")`,
    ]);
    const gateway = findObject(prod, 'Gateway', 'prefect', 'istio-ingress');
    const server = spec(gateway).servers[0];
    const twoCredentials = {
      ...gateway,
      spec: { ...spec(gateway), servers: [{ ...server, tls: { ...server.tls, credentialNames: ['a', 'b'] } }] },
    } as KubernetesObject;
    expect(checkCrdRules(twoCredentials).violations).toEqual([
      expect.stringContaining('only one of credentialName or credentialNames can be set'),
    ]);
  });
});

describe('platform: the control plane before the data tier and the services', () => {
  const release = (rendered: RenderedEnvironment, name: string) =>
    (findObject(rendered, 'HelmRelease', name, 'flux-system').spec as Record<string, any>).values;

  it.each(['dev', 'staging', 'prod'])(
    '%s: istiod, the gateway, cert-manager and trust-manager run at prefect-platform, above the data tier',
    (environment) => {
      const rendered = build(environment);
      const value = (name: string) => findObject(rendered, 'PriorityClass', name).value as number;
      expect(value('prefect-platform')).toBeGreaterThan(value('prefect-data'));
      expect(value('prefect-data')).toBeGreaterThan(value('prefect-services'));
      expect(release(rendered, 'istiod').global.priorityClassName).toBe('prefect-platform');
      expect(release(rendered, 'istio-ingressgateway').priorityClassName).toBe('prefect-platform');
      expect(release(rendered, 'cert-manager').global.priorityClassName).toBe('prefect-platform');
      expect(release(rendered, 'trust-manager').priorityClassName).toBe('prefect-platform');
    },
  );

  it('runs the optional operators (CloudNativePG, External Secrets with its webhook and certificate controller) at prefect-platform too', () => {
    const cloudnativePg = release(buildVariant('prod', VARIANTS.cloudnativePg), 'cloudnative-pg');
    expect(cloudnativePg.priorityClassName).toBe('prefect-platform');
    const externalSecrets = release(buildVariant('dev', VARIANTS.externalSecrets), 'external-secrets');
    expect([
      externalSecrets.priorityClassName,
      externalSecrets.webhook.priorityClassName,
      externalSecrets.certController.priorityClassName,
    ]).toEqual(['prefect-platform', 'prefect-platform', 'prefect-platform']);
  });

  it('runs two istiod replicas (and so the PodDisruptionBudget of the chart) where a second node exists, one on a single node', () => {
    expect(release(build('prod'), 'istiod')).toMatchObject({ autoscaleMin: 2, replicaCount: 2 });
    expect(release(build('staging'), 'istiod')).toMatchObject({ autoscaleMin: 2, replicaCount: 2 });
    expect(release(build('dev'), 'istiod')).toMatchObject({ autoscaleMin: 1, replicaCount: 1 });
  });
});
