import type { Construct } from 'constructs';
import { BackendTrafficPolicy } from '../edge/routes/backend-traffic-policy';
import { CERT_MANAGER_SERVICE_ACCOUNT } from '../platform/cert-manager-releases';
import { GatewayCertificate } from '../edge/tls/certificates';
import type { LayerHealthChecks } from '../flux/flux-layer';
import { PrefectGateway } from '../edge/ingress-gateway';
import { INGRESS_GATEWAY_NAME } from '../edge/ingress-gateway-release';
import { ClusterIssuers, dns01Secrets, missingDns01Identity, solvesHttp01 } from '../edge/tls/issuers';
import type { RequiredSecret } from '../core/required-secret';
import { selectorLabels } from '../core/labels';
import {
  DEFAULT_TRUSTED_PROXIES,
  GATEWAY_READINESS_PATH,
  GATEWAY_STATUS_PORT,
  nlbTlsAnnotations,
  tlsTermination,
} from '../edge/load-balancer';
import { DEFAULT_TRUST_DOMAIN } from '../mesh/identity';
import { MeshNamespacePolicy } from '../mesh/namespace-policy';
import { configuredRoutes, resolveRoutes, routedBackends, type ResolvedRoute } from '../edge/routes/routes';
import { MAINTENANCE_HEALTH_CHECK } from '../edge/routes/host-routes';
import type { ResolvedService } from '../prefect/service-catalog';
import { BUNDLE_HEALTH_CHECK_EXPR, TrustBundle } from '../edge/tls/trust-bundle';
import { LayerChart, type LayerChartProps } from './layer-chart';

/** Seconds of Retry-After with `maintenance: true`. */
const DEFAULT_RETRY_AFTER_SECONDS = 300;

export interface EdgeChartProps extends LayerChartProps {
  /** The environment's resolved service catalog: the routes' backends. */
  readonly catalog: readonly ResolvedService[];
}

/** The TLS Secret of cert-manager's certificate, in the gateway's namespace. */
export const GATEWAY_TLS_SECRET = 'prefect-tls';

/** The trust-manager Bundle (and the ConfigMap it writes) of the private CA, in selfsigned mode. */
export const CA_BUNDLE_NAME = 'prefect-ca-bundle';

/**
 * Layer 2: issuers, the gateway's certificate, the Istio Gateway, one VirtualService per
 * public hostname, and the mesh policies of the Prefect and data namespaces (mutual TLS only,
 * deny by default; the routed services let the gateway in themselves, in the prefect layer).
 */
export class EdgeChart extends LayerChart {
  public readonly routes: readonly ResolvedRoute[];
  public readonly gateway: PrefectGateway;
  public readonly issuers?: ClusterIssuers;
  public readonly certificate?: GatewayCertificate;
  /** With a private CA: the CA bundle that Prefect clients in the cluster must trust. */
  public readonly trustBundle?: TrustBundle;
  /**
   * What this layer's Flux Kustomization waits for before the layers after it start, derived
   * from what the chart created. Not every object: the gateway's Certificate waits on ACME (Let's
   * Encrypt's rate limits, DNS propagation), which must not hold back the data, migrations and
   * services; nor do the ClusterIssuers (their ACME account registration) or the Istio objects
   * (they have no status). Applying the layer still needs every CRD it uses, so the layers stay in
   * CRD order. What the services do need is the private CA's bundle, which they mount: with a
   * private CA the layer waits until trust-manager has written it.
   */
  public readonly readiness: LayerHealthChecks;
  /** The Secrets of this layer that the user creates: an existing TLS certificate, a DNS-01 solver's key. */
  public readonly requiredSecrets: readonly RequiredSecret[];

  constructor(scope: Construct, props: EdgeChartProps) {
    super(scope, 'edge', props);
    const { config } = this;
    const { namespaces, hostnames, tls, loadBalancer, mesh } = config;
    const labels = (name: string, component: string) => this.labelsFor({ name, component });
    const disabled = Object.entries(config.prefect.services)
      .filter(([, service]) => service.enabled === false)
      .map(([name]) => name);
    this.routes = resolveRoutes(configuredRoutes(config.routes, config.edition), props.catalog, disabled);

    const termination = tlsTermination(loadBalancer.mode, loadBalancer.provider);
    let credentialName: string | undefined;
    const required: RequiredSecret[] = [];
    if (termination === 'load-balancer') {
      this.warn(
        `loadBalancer.mode is l7 with provider aws: the NLB ends TLS with the ACM certificate ${loadBalancer.certificate}, ` +
          `so tls.mode "${tls.mode}" is not used (no issuer, no certificate); the certificate must cover ${hostnames.api} and ${hostnames.app}`,
      );
    } else if (termination === 'http-proxy') {
      const trusted = loadBalancer.trustedProxies ?? DEFAULT_TRUSTED_PROXIES[loadBalancer.provider];
      this.warn(
        `loadBalancer.mode is l7 with provider ${loadBalancer.provider}: TLS ends at your HTTP(S) proxy, so tls.mode "${tls.mode}" is not used (no issuer, no certificate); ` +
          `the proxy must serve ${hostnames.api} and ${hostnames.app}, redirect HTTP to HTTPS, and forward to ${mesh.install ? `the Service ${INGRESS_GATEWAY_NAME}.${namespaces.ingress}` : "your gateway's Service"} port 80, ` +
          `health-checking port ${GATEWAY_STATUS_PORT} path ${GATEWAY_READINESS_PATH}`,
      );
      this.warn(
        `loadBalancer.mode is l7: the gateway trusts ${trusted} proxy hop(s) of X-Forwarded-For and the X-Forwarded-Proto they set; every proxy in front must append ` +
          `to X-Forwarded-For (Google Cloud Application Load Balancers append 2 entries, Azure Application Gateway 1), or clients could forge their address: ` +
          `set loadBalancer.trustedProxies to the exact number of entries they append`,
      );
    } else if (tls.mode === 'existing') {
      credentialName = tls.secretName;
      required.push({
        namespace: namespaces.ingress,
        name: tls.secretName,
        purpose: `the gateway's TLS certificate for ${hostnames.api} and ${hostnames.app}, with its chain (tls.mode existing)`,
        command: `kubectl --namespace ${namespaces.ingress} create secret tls ${tls.secretName} --cert=<certificate chain file> --key=<private key file>`,
      });
    } else {
      if (tls.mode !== 'selfsigned') required.push(...dns01Secrets(tls.solver, namespaces.certManager));
      this.issuers = new ClusterIssuers(this, 'Issuers', {
        tls,
        certManagerNamespace: namespaces.certManager,
        environment: config.environment,
        labelsFor: (name) => labels(name, 'certificate'),
      });
      this.certificate = new GatewayCertificate(this, 'Certificate', {
        name: GATEWAY_TLS_SECRET,
        namespace: namespaces.ingress,
        hostnames: [hostnames.api, hostnames.app],
        issuer: this.issuers.issuerRef,
        duration: tls.duration,
        renewBefore: tls.renewBefore,
        labels: labels(GATEWAY_TLS_SECRET, 'certificate'),
      });
      credentialName = this.certificate.secretName;
      if (this.issuers.privateCa) {
        const ca = this.issuers.privateCa;
        this.trustBundle = new TrustBundle(this, 'TrustBundle', {
          name: CA_BUNDLE_NAME,
          ca,
          namespaces: [namespaces.prefect],
          labels: labels(CA_BUNDLE_NAME, 'certificate'),
        });
        this.warn(
          `tls.mode is selfsigned: clients outside the cluster do not trust the private CA. Export it with ` +
            `\`kubectl -n ${ca.namespace} get secret ${ca.secretName} -o jsonpath='{.data.ca\\.crt}' | base64 -d > prefect-ca.crt\` ` +
            `and set PREFECT_API_SSL_CERT_FILE=prefect-ca.crt for every Prefect client and worker outside the cluster ` +
            `(the Prefect client trusts certifi's bundle, not the system store); browsers need it imported too`,
        );
      }
      if (tls.mode === 'letsencrypt-staging') {
        this.warn(
          "tls.mode is letsencrypt-staging: browsers and Prefect clients reject Let's Encrypt staging certificates; switch to letsencrypt once issuance works",
        );
      }
      if ((tls.mode === 'letsencrypt' || tls.mode === 'letsencrypt-staging') && mesh.installCertManager) {
        const missing = missingDns01Identity(tls.solver, mesh.certManager, `${namespaces.certManager}/${CERT_MANAGER_SERVICE_ACCOUNT}`);
        if (missing) this.warn(missing);
      }
    }
    this.requiredSecrets = required;
    this.readiness = this.trustBundle
      ? { healthChecks: [{ ...this.trustBundle.healthCheck }], healthCheckExprs: [{ ...BUNDLE_HEALTH_CHECK_EXPR }] }
      : { healthChecks: [] };

    const acmeHttp01 = solvesHttp01(config);
    // The backends stay wired (policies, traffic policies): turning maintenance off changes the routes only.
    const maintenance =
      config.maintenance === false
        ? undefined
        : { retryAfterSeconds: config.maintenance === true ? DEFAULT_RETRY_AFTER_SECONDS : config.maintenance.retryAfter };
    if (maintenance) {
      this.warn(
        `maintenance is on: the gateway answers 503 (Retry-After: ${maintenance.retryAfterSeconds}) to every request on ${hostnames.api} and ${hostnames.app}, and 200 on GET ${MAINTENANCE_HEALTH_CHECK}`,
      );
    }
    this.gateway = new PrefectGateway(this, 'Gateway', {
      namespace: namespaces.ingress,
      selector: mesh.gatewaySelector,
      serviceAccountName: mesh.gatewayServiceAccount,
      hostnames: [hostnames.api, hostnames.app],
      tlsTermination: termination,
      credentialName,
      acmeHttp01,
      trustDomain: mesh.trustDomain,
      labelsFor: labels,
    });
    for (const host of ['api', 'app'] as const) {
      const routes = this.routes.filter((route) => route.host === host);
      if (routes.length === 0) continue;
      this.gateway.addHost(`${host}-routes`, {
        name: `prefect-${host}`,
        hostname: hostnames[host],
        routes,
        backendNamespace: namespaces.prefect,
        backendSelector: (service) => selectorLabels(config.environment, service),
        ...(maintenance ? { maintenance } : {}),
      });
    }
    for (const backend of routedBackends(this.routes)) {
      new BackendTrafficPolicy(this, `${backend.name}-traffic-policy`, {
        service: backend.name,
        namespace: namespaces.prefect,
        websockets: backend.websockets,
        labels: labels(backend.name, 'traffic-policy'),
      });
    }
    for (const namespace of [namespaces.prefect, namespaces.data]) {
      new MeshNamespacePolicy(this, `${namespace}-mesh-policy`, { namespace, labelsFor: (name) => labels(name, 'mesh-policy') });
    }

    if (!mesh.install) {
      const selector = Object.entries(mesh.gatewaySelector)
        .map(([key, value]) => `${key}=${value}`)
        .join(',');
      this.warn(
        `mesh.install is false: the Gateway binds to your gateway pods labelled ${selector} in namespace ${namespaces.ingress}, ` +
          `and only the identity ${this.gateway.principal} may call the routed services. The ${namespaces.prefect} and ${namespaces.data} ` +
          `namespaces enforce Pod Security "restricted": your mesh must use the Istio CNI node agent, since istio-init needs NET_ADMIN`,
      );
      if (acmeHttp01) {
        this.warn(
          `mesh.install is false with ACME HTTP-01: your istiod must serve Ingress objects of class "istio" (an IngressClass "istio", meshConfig.ingressSelector) on that gateway`,
        );
      }
      if (termination === 'load-balancer' && loadBalancer.certificate) {
        const annotations = Object.entries(nlbTlsAnnotations(loadBalancer.certificate))
          .map(([key, value]) => `${key}: "${value}"`)
          .join(', ');
        this.warn(
          `mesh.install is false with loadBalancer.mode l7 on aws: your gateway's Service must carry the NLB TLS annotations (${annotations}) ` +
            `and its pods the annotation proxy.istio.io/config: '{"gatewayTopology":{"proxyProtocol":{}}}', or the NLB's PROXY protocol header breaks every request`,
        );
      }
      if (mesh.trustDomain !== DEFAULT_TRUST_DOMAIN) {
        this.warn(
          `mesh.install is false: every AuthorizationPolicy names identities in the trust domain ${mesh.trustDomain}, which must be your mesh's meshConfig.trustDomain`,
        );
      }
    }
  }
}
