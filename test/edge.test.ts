import { describe, expect, it } from 'vitest';
import { edgeControllerWorkloads } from '../lib/edge-workloads';
import { LOAD_BALANCER_PRESETS } from '../lib/ingress-gateway-release';
import type { KubernetesObject, RenderedEnvironment } from '../lib/output/render';
import { checkEnvironment } from '../lib/synthesize';
import { buildVariant } from './config-variants';
import { checkCrdRules } from './crd-rules';
import { build, ENVIRONMENTS, findObject, loadEnvironment, objectsOfKind, sharedValidator } from './helpers';

/*
 * The edge: Helm releases of the controllers (platform layer), TLS, the Istio Gateway and the
 * mesh policies (edge layer), per TLS mode, load balancer preset and mesh ownership. Every
 * variant built here also passes strict schema validation and the CRDs' CEL rules.
 */

type Spec = Record<string, any>;
const spec = (object: KubernetesObject): Spec => object.spec as Spec;
const names = (rendered: RenderedEnvironment, layer: string) =>
  rendered.objects.filter((entry) => entry.layer === layer).map(({ object }) => `${object.kind} ${object.metadata.namespace ?? '-'}/${object.metadata.name}`).sort();
const values = (rendered: RenderedEnvironment, release: string) => spec(findObject(rendered, 'HelmRelease', release, 'flux-system')).values as Spec;
const solver = (rendered: RenderedEnvironment, issuer: string) => spec(findObject(rendered, 'ClusterIssuer', issuer)).acme.solvers[0];

/** prod's configuration with its TLS section replaced (not merged). */
const letsencrypt = (solverConfig: Record<string, unknown>) => [{ tls: null }, { tls: { mode: 'letsencrypt', email: 'platform@example.com', solver: solverConfig } }];

const variants: Record<string, RenderedEnvironment> = {
  'letsencrypt http01': buildVariant('prod', letsencrypt({ type: 'http01' })),
  'dns01 route53 with a key Secret': buildVariant('prod', letsencrypt({ type: 'dns01', provider: { name: 'route53', region: 'eu-west-1', hostedZoneID: 'Z123', accessKeySecret: { name: 'route53-credentials', accessKeyIdKey: 'access-key-id', secretAccessKeyKey: 'secret-access-key' } } })),
  'dns01 cloudDNS': buildVariant('prod', letsencrypt({ type: 'dns01', provider: { name: 'cloudDNS', project: 'prefect-prod', serviceAccountSecret: { name: 'clouddns-key', key: 'key.json' } } })),
  'dns01 cloudDNS with Workload Identity': buildVariant('prod', letsencrypt({ type: 'dns01', provider: { name: 'cloudDNS', project: 'prefect-prod' } })),
  'dns01 cloudflare': buildVariant('prod', letsencrypt({ type: 'dns01', provider: { name: 'cloudflare', apiTokenSecret: { name: 'cloudflare-token', key: 'api-token' } } })),
  'dns01 azureDNS': buildVariant('prod', letsencrypt({ type: 'dns01', provider: { name: 'azureDNS', subscriptionID: 'sub', resourceGroupName: 'dns', hostedZoneName: 'prefect.example.com', managedIdentityClientID: 'client' } })),
  existing: buildVariant('prod', [{ tls: null }, { tls: { mode: 'existing', secretName: 'prefect-wildcard' } }]),
  'gcp preset': buildVariant('prod', { loadBalancer: { provider: 'gcp' } }),
  'azure preset': buildVariant('prod', { loadBalancer: { provider: 'azure' } }),
  'generic preset with user annotations': buildVariant('dev', { loadBalancer: { annotations: { 'metallb.universe.tf/address-pool': 'public' }, sourceRanges: ['203.0.113.0/24'] } }),
  l7: buildVariant('prod', { loadBalancer: { mode: 'l7', provider: 'gcp', externalDns: false, trustedProxies: 2 } }),
  'l7 with HTTP-01 configured': buildVariant('staging', { loadBalancer: { mode: 'l7' } }),
  'bring your own mesh': buildVariant('staging', {
    mesh: { install: false, installCertManager: false, installTrustManager: false, gatewaySelector: { app: 'gateway', istio: 'public' }, gatewayServiceAccount: 'istio-ingressgateway-service-account' },
    namespaces: { ingress: 'gateways' },
  }),
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
    const dependsOn = (name: string) => spec(findObject(prod, 'HelmRelease', name, 'flux-system')).dependsOn?.map((entry: { name: string }) => entry.name);
    expect(dependsOn('istio-base')).toBeUndefined();
    expect(dependsOn('istiod')).toEqual(['istio-base']);
    expect(dependsOn('istio-cni')).toEqual(['istiod']);
    expect(dependsOn('istio-ingressgateway')).toEqual(['istio-cni']);
    expect(dependsOn('cert-manager')).toBeUndefined();
    expect(dependsOn('trust-manager')).toEqual(['cert-manager']);
  });

  it('pins chart versions from the configuration, from the upstream repositories', () => {
    const chart = (name: string) => spec(findObject(prod, 'HelmRelease', name, 'flux-system')).chart.spec;
    expect(chart('istiod')).toMatchObject({ chart: 'istiod', version: '1.30.3', sourceRef: { kind: 'HelmRepository', name: 'istio', namespace: 'flux-system' } });
    expect(chart('istio-ingressgateway')).toMatchObject({ chart: 'gateway', version: '1.30.3' });
    expect(chart('cert-manager')).toMatchObject({ chart: 'cert-manager', version: 'v1.21.1', sourceRef: { name: 'jetstack' } });
    expect(chart('trust-manager')).toMatchObject({ chart: 'trust-manager', version: 'v0.24.0', sourceRef: { name: 'jetstack' } });
    expect(spec(findObject(prod, 'HelmRepository', 'istio', 'flux-system')).url).toBe('https://istio-release.storage.googleapis.com/charts');
    expect(spec(findObject(prod, 'HelmRepository', 'jetstack', 'flux-system')).url).toBe('https://charts.jetstack.io');
    const version = buildVariant('prod', { mesh: { versions: { istio: '1.30.4', certManager: 'v1.21.2' } } });
    expect(spec(findObject(version, 'HelmRelease', 'istio-cni', 'flux-system')).chart.spec.version).toBe('1.30.4');
    expect(spec(findObject(version, 'HelmRelease', 'cert-manager', 'flux-system')).chart.spec.version).toBe('v1.21.2');
  });

  it('installs each release into its namespace, with remediation', () => {
    const target = (name: string) => spec(findObject(prod, 'HelmRelease', name, 'flux-system'));
    expect(['istio-base', 'istiod', 'istio-cni'].map((name) => target(name).targetNamespace)).toEqual(['istio-system', 'istio-system', 'istio-system']);
    expect(target('istio-ingressgateway').targetNamespace).toBe('istio-ingress');
    expect(target('cert-manager').targetNamespace).toBe('cert-manager');
    expect(target('trust-manager').targetNamespace).toBe('cert-manager');
    for (const release of objectsOfKind(prod, 'HelmRelease')) {
      expect(spec(release).install.remediation.retries, release.metadata.name).toBeGreaterThan(0);
      expect(spec(release).upgrade.remediation.retries, release.metadata.name).toBeGreaterThan(0);
    }
  });

  it('uses the Istio CNI agent, since the Prefect namespaces forbid istio-init', () => {
    expect(values(prod, 'istiod').pilot).toEqual({ cni: { enabled: true } });
    expect(values(prod, 'istiod').global).toBeUndefined();
    const gke = variants['platform profile gke'] as RenderedEnvironment;
    for (const release of ['istio-base', 'istiod', 'istio-cni', 'istio-ingressgateway']) expect(values(gke, release).global, release).toEqual({ platform: 'gke' });
  });

  it('installs cert-manager with its CRDs and trust-manager reading the CA from cert-manager\'s namespace', () => {
    expect(values(prod, 'cert-manager')).toMatchObject({ crds: { enabled: true, keep: true } });
    expect(values(prod, 'trust-manager')).toMatchObject({ crds: { enabled: true }, app: { trust: { namespace: 'cert-manager' } } });
  });

  it('switches each controller off for clusters that have it', () => {
    const without = buildVariant('prod', { mesh: { installCertManager: false } });
    expect(objectsOfKind(without, 'HelmRelease').map((release) => release.metadata.name).sort()).toEqual(['istio-base', 'istio-cni', 'istio-ingressgateway', 'istiod', 'trust-manager']);
    expect(spec(findObject(without, 'HelmRelease', 'trust-manager', 'flux-system')).dependsOn).toBeUndefined();
    const neither = buildVariant('prod', { mesh: { installCertManager: false, installTrustManager: false } });
    expect(objectsOfKind(neither, 'HelmRepository').map((repository) => repository.metadata.name)).toEqual(['istio']);
  });

  it('configures istiod to serve the HTTP-01 solver\'s Ingress on the gateway, with an IngressClass only when needed', () => {
    const http01 = committed.staging as RenderedEnvironment;
    expect(values(http01, 'istiod').meshConfig).toEqual({ ingressClass: 'istio', ingressControllerMode: 'STRICT', ingressSelector: 'ingressgateway', ingressService: 'istio-ingressgateway' });
    expect(spec(findObject(http01, 'IngressClass', 'istio'))).toEqual({ controller: 'istio.io/ingress-controller' });
    expect(objectsOfKind(prod, 'IngressClass')).toEqual([]);
  });
});

describe('platform: what the controllers ask of the cluster', () => {
  it('lists the Helm releases\' pods for the capacity check, only for what is installed', () => {
    const prod = edgeControllerWorkloads(loadEnvironment('prod'));
    expect(prod.map((workload) => [workload.namespace, workload.name, workload.minReplicas, workload.maxReplicas, workload.cpu, workload.memory, workload.perNode ?? false])).toEqual([
      ['istio-system', 'istiod', 1, 5, 0.5, 2048 * 2 ** 20, false],
      ['istio-system', 'istio-cni-node', 1, 1, 0.1, 100 * 2 ** 20, true],
      ['istio-ingress', 'istio-ingressgateway', 3, 6, 0.5, 512 * 2 ** 20, false],
      ['cert-manager', 'cert-manager', 1, 1, 0.05, 128 * 2 ** 20, false],
      ['cert-manager', 'cert-manager-webhook', 1, 1, 0.01, 64 * 2 ** 20, false],
      ['cert-manager', 'cert-manager-cainjector', 1, 1, 0.01, 128 * 2 ** 20, false],
      ['cert-manager', 'trust-manager', 1, 1, 0.01, 64 * 2 ** 20, false],
    ]);
    const byo = { ...loadEnvironment('prod'), mesh: { ...loadEnvironment('prod').mesh, install: false, installCertManager: false, installTrustManager: false } };
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
      { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { istio: 'ingressgateway' } } },
      { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { istio: 'ingressgateway' } } },
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
        'external-dns.alpha.kubernetes.io/hostname': 'api.prefect.example.com,app.prefect.example.com',
      },
    });
  });

  it.each([
    ['gcp preset', { 'cloud.google.com/l4-rbs': 'enabled' }],
    ['azure preset', { 'service.beta.kubernetes.io/azure-load-balancer-internal': 'false', 'service.beta.kubernetes.io/azure-load-balancer-tcp-idle-timeout': '30' }],
  ])('applies the %s', (variant, expected) => {
    const annotations = values(variants[variant] as RenderedEnvironment, 'istio-ingressgateway').service.annotations;
    expect(annotations).toEqual({ ...expected, 'external-dns.alpha.kubernetes.io/hostname': 'api.prefect.example.com,app.prefect.example.com' });
  });

  it('adds nothing for the generic preset but the user\'s annotations and ranges', () => {
    expect(LOAD_BALANCER_PRESETS.generic).toEqual({});
    expect(values(dev, 'istio-ingressgateway').service).toEqual({ type: 'LoadBalancer', externalTrafficPolicy: 'Local', annotations: {} });
    const generic = values(variants['generic preset with user annotations'] as RenderedEnvironment, 'istio-ingressgateway').service;
    expect(generic).toEqual({ type: 'LoadBalancer', externalTrafficPolicy: 'Local', annotations: { 'metallb.universe.tf/address-pool': 'public' }, loadBalancerSourceRanges: ['203.0.113.0/24'] });
  });

  it('sets only values the gateway chart accepts (its values.schema.json has additionalProperties: false)', () => {
    // The top-level keys of istio/istio manifests/charts/gateway/values.schema.json that this project uses.
    const accepted = ['global', 'labels', 'serviceAccount', 'replicaCount', 'autoscaling', 'podDisruptionBudget', 'topologySpreadConstraints', 'resources', 'service', 'podAnnotations'];
    for (const rendered of [prod, dev, variants.l7 as RenderedEnvironment, variants['platform profile gke'] as RenderedEnvironment]) {
      const gateway = values(rendered, 'istio-ingressgateway');
      expect(Object.keys(gateway).filter((key) => !accepted.includes(key))).toEqual([]);
      expect(Object.keys(gateway.service).filter((key) => !['type', 'annotations', 'externalTrafficPolicy', 'loadBalancerSourceRanges', 'ports'].includes(key))).toEqual([]);
    }
  });

  it('lets user annotations override the preset', () => {
    const rendered = buildVariant('prod', { loadBalancer: { annotations: { 'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internal' } } });
    expect(values(rendered, 'istio-ingressgateway').service.annotations['service.beta.kubernetes.io/aws-load-balancer-scheme']).toBe('internal');
  });
});

describe('edge: TLS', () => {
  const dev = committed.dev as RenderedEnvironment;
  const staging = committed.staging as RenderedEnvironment;
  const prod = committed.prod as RenderedEnvironment;

  it('issues one certificate for both hosts in the gateway\'s namespace', () => {
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
    expect(spec(findObject(tuned, 'Certificate', 'prefect-tls', 'istio-ingress'))).toMatchObject({ duration: '1440h', renewBefore: '360h' });
  });

  it('leaves out a common name longer than 64 characters', () => {
    const certificate = spec(findObject(variants['long hostname'] as RenderedEnvironment, 'Certificate', 'prefect-tls', 'istio-ingress'));
    expect(certificate.commonName).toBeUndefined();
    expect(certificate.dnsNames[0]).toHaveLength(72);
  });

  it('serves HTTPS for both hosts from one server, TLS 1.2 or newer, with the certificate\'s Secret', () => {
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
    ['dns01 route53 with a key Secret', { route53: { region: 'eu-west-1', hostedZoneID: 'Z123', accessKeyIDSecretRef: { name: 'route53-credentials', key: 'access-key-id' }, secretAccessKeySecretRef: { name: 'route53-credentials', key: 'secret-access-key' } } }],
    ['dns01 cloudDNS', { cloudDNS: { project: 'prefect-prod', serviceAccountSecretRef: { name: 'clouddns-key', key: 'key.json' } } }],
    ['dns01 cloudDNS with Workload Identity', { cloudDNS: { project: 'prefect-prod' } }],
    ['dns01 cloudflare', { cloudflare: { apiTokenSecretRef: { name: 'cloudflare-token', key: 'api-token' } } }],
    ['dns01 azureDNS', { azureDNS: { subscriptionID: 'sub', resourceGroupName: 'dns', hostedZoneName: 'prefect.example.com', managedIdentity: { clientID: 'client' } } }],
  ])('letsencrypt with %s references credentials by Secret only', (variant, dns01) => {
    const rendered = variants[variant] as RenderedEnvironment;
    expect(solver(rendered, 'prefect-letsencrypt')).toEqual({ dns01 });
    expect(objectsOfKind(rendered, 'Secret')).toEqual([]);
    expect(objectsOfKind(rendered, 'IngressClass')).toEqual([]);
  });

  it('letsencrypt with HTTP-01 answers through Istio\'s ingress class, from a solver outside the mesh', () => {
    const rendered = variants['letsencrypt http01'] as RenderedEnvironment;
    expect(solver(rendered, 'prefect-letsencrypt')).toEqual({
      http01: { ingress: { ingressClassName: 'istio', serviceType: 'ClusterIP', podTemplate: { metadata: { labels: { 'sidecar.istio.io/inject': 'false' } } } } },
    });
    expect(findObject(rendered, 'IngressClass', 'istio')).toBeTruthy();
    expect(findObject(rendered, 'VirtualService', 'prefect-http-redirect', 'istio-ingress')).toBeTruthy();
  });

  it('letsencrypt-staging uses the staging directory and warns', () => {
    expect(spec(findObject(staging, 'ClusterIssuer', 'prefect-letsencrypt-staging')).acme.server).toBe('https://acme-staging-v02.api.letsencrypt.org/directory');
    expect(spec(findObject(staging, 'Certificate', 'prefect-tls', 'istio-ingress')).issuerRef.name).toBe('prefect-letsencrypt-staging');
    expect(staging.warnings).toEqual([expect.stringContaining('letsencrypt-staging')]);
  });

  it('selfsigned chains a self-signed root, a CA certificate in cert-manager\'s namespace and a CA issuer', () => {
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
      target: { configMap: { key: 'ca-certificates.crt' }, namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['prefect'] }] } },
    });
    expect(dev.warnings).toEqual([expect.stringContaining('PREFECT_API_SSL_CERT_FILE')]);
    expect(objectsOfKind(prod, 'Bundle')).toEqual([]);
    expect(prod.warnings).toEqual([]);
  });

  it('existing serves the user\'s Secret and issues nothing', () => {
    const rendered = variants.existing as RenderedEnvironment;
    expect(objectsOfKind(rendered, 'ClusterIssuer')).toEqual([]);
    expect(objectsOfKind(rendered, 'Certificate')).toEqual([]);
    expect(spec(findObject(rendered, 'Gateway', 'prefect', 'istio-ingress')).servers[0].tls.credentialName).toBe('prefect-wildcard');
  });
});

describe('edge: L7 mode (TLS ends at the load balancer)', () => {
  const l7 = variants.l7 as RenderedEnvironment;

  it('serves HTTP only, with no certificate, issuer or redirect', () => {
    expect(spec(findObject(l7, 'Gateway', 'prefect', 'istio-ingress')).servers).toEqual([
      { name: 'http', port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['./api.prefect.example.com', './app.prefect.example.com'] },
    ]);
    for (const kind of ['Certificate', 'ClusterIssuer', 'Bundle', 'IngressClass']) expect(objectsOfKind(l7, kind), kind).toEqual([]);
    expect(objectsOfKind(l7, 'Gateway').map((gateway) => gateway.metadata.name)).toEqual(['prefect']);
    expect(objectsOfKind(variants['l7 with HTTP-01 configured'] as RenderedEnvironment, 'IngressClass')).toEqual([]);
  });

  it('trusts the configured number of proxies for client address and scheme, and sends 443 to the HTTP listener', () => {
    const gateway = values(l7, 'istio-ingressgateway');
    expect(JSON.parse(gateway.podAnnotations['proxy.istio.io/config'])).toEqual({ gatewayTopology: { numTrustedProxies: 2 } });
    expect(gateway.service.ports).toEqual([
      { name: 'status-port', port: 15021, protocol: 'TCP', targetPort: 15021 },
      { name: 'http2', port: 80, protocol: 'TCP', targetPort: 80 },
      { name: 'http-lb-tls', port: 443, protocol: 'TCP', targetPort: 80 },
    ]);
    const defaulted = values(variants['l7 with HTTP-01 configured'] as RenderedEnvironment, 'istio-ingressgateway');
    expect(JSON.parse(defaulted.podAnnotations['proxy.istio.io/config'])).toEqual({ gatewayTopology: { numTrustedProxies: 1 } });
    expect(values(committed.prod as RenderedEnvironment, 'istio-ingressgateway').podAnnotations).toBeUndefined();
  });

  it('routes as in L4 mode, on the HTTP Gateway', () => {
    expect(spec(findObject(l7, 'VirtualService', 'prefect-api', 'istio-ingress')).gateways).toEqual(['istio-ingress/prefect']);
  });

  it('warns that the TLS settings are unused and that the load balancer must append X-Forwarded-For', () => {
    expect(l7.warnings).toEqual([expect.stringContaining('tls.mode "letsencrypt" is not used'), expect.stringContaining('trusts 2 proxy hop(s)')]);
  });
});

describe('edge: bring your own mesh', () => {
  const byo = variants['bring your own mesh'] as RenderedEnvironment;

  it('emits no Helm releases and no mesh namespaces, only the routing, TLS and policies', () => {
    expect(objectsOfKind(byo, 'HelmRelease')).toEqual([]);
    expect(objectsOfKind(byo, 'HelmRepository')).toEqual([]);
    expect(objectsOfKind(byo, 'IngressClass')).toEqual([]);
    expect(names(byo, 'platform')).toEqual(['Namespace -/prefect', 'Namespace -/prefect-data']);
  });

  it('binds the Gateway to the user\'s gateway pods and namespace, and allows their identity', () => {
    expect(spec(findObject(byo, 'Gateway', 'prefect', 'gateways')).selector).toEqual({ app: 'gateway', istio: 'public' });
    expect(findObject(byo, 'Certificate', 'prefect-tls', 'gateways')).toBeTruthy();
    expect(spec(findObject(byo, 'VirtualService', 'prefect-api', 'gateways')).gateways).toEqual(['gateways/prefect']);
    expect(spec(findObject(byo, 'AuthorizationPolicy', 'nebula-from-ingress-gateway', 'prefect')).rules[0].from[0].source.principals).toEqual([
      'cluster.local/ns/gateways/sa/istio-ingressgateway-service-account',
    ]);
  });

  it('warns about what the user\'s mesh must provide', () => {
    expect(byo.warnings).toEqual([
      expect.stringContaining('letsencrypt-staging'),
      expect.stringContaining('Istio CNI node agent'),
      expect.stringContaining('Ingress objects of class "istio"'),
    ]);
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

  it('allows the ingress gateway\'s identity to the routed web services\' ports only', () => {
    const allows = objectsOfKind(prod, 'AuthorizationPolicy').filter((policy) => policy.metadata.name.endsWith('-from-ingress-gateway'));
    expect(allows.map((policy) => policy.metadata.name).sort()).toEqual(routed.map((service) => `${service}-from-ingress-gateway`));
    expect(spec(findObject(prod, 'AuthorizationPolicy', 'server-from-ingress-gateway', 'prefect'))).toEqual({
      action: 'ALLOW',
      selector: { matchLabels: { 'app.kubernetes.io/name': 'server', 'app.kubernetes.io/instance': 'prefect-prod' } },
      rules: [{ from: [{ source: { principals: ['cluster.local/ns/istio-ingress/sa/istio-ingressgateway'] } }], to: [{ operation: { ports: ['8080'] } }] }],
    });
  });

  it('gives each routed backend mutual TLS, bounded pools and outlier detection', () => {
    expect(objectsOfKind(prod, 'DestinationRule').map((rule) => rule.metadata.name).sort()).toEqual(routed);
    const nebula = spec(findObject(prod, 'DestinationRule', 'nebula', 'prefect'));
    expect(nebula.host).toBe('nebula.prefect.svc.cluster.local');
    expect(nebula.trafficPolicy).toMatchObject({
      tls: { mode: 'ISTIO_MUTUAL' },
      connectionPool: { tcp: { maxConnections: 2048, connectTimeout: '5s' }, http: { http1MaxPendingRequests: 2048, http2MaxRequests: 2048 } },
      outlierDetection: { consecutiveGatewayErrors: 5, consecutive5xxErrors: 0, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 50 },
    });
    expect(nebula.trafficPolicy.connectionPool.http.h2UpgradePolicy).toBeUndefined();
    const events = spec(findObject(prod, 'DestinationRule', 'events', 'prefect'));
    expect(events.trafficPolicy.connectionPool).toMatchObject({ tcp: { maxConnections: 16384 }, http: { h2UpgradePolicy: 'DO_NOT_UPGRADE' } });
  });
});

describe('the CEL rule check itself', () => {
  it('catches a zero timeout and two TLS credentials on one server', () => {
    const prod = committed.prod as RenderedEnvironment;
    const vs = findObject(prod, 'VirtualService', 'prefect-api', 'istio-ingress');
    const broken = { ...vs, spec: { ...spec(vs), http: [{ ...spec(vs).http[0], timeout: '0s' }] } } as KubernetesObject;
    expect(checkCrdRules(broken).violations).toEqual([`VirtualService istio-ingress/prefect-api.spec.http[0].timeout: must be a valid duration greater than 1ms ("0s")`]);
    const gateway = findObject(prod, 'Gateway', 'prefect', 'istio-ingress');
    const server = spec(gateway).servers[0];
    const twoCredentials = { ...gateway, spec: { ...spec(gateway), servers: [{ ...server, tls: { ...server.tls, credentialNames: ['a', 'b'] } }] } } as KubernetesObject;
    expect(checkCrdRules(twoCredentials).violations).toEqual([expect.stringContaining('only one of credentialName or credentialNames can be set')]);
  });
});
