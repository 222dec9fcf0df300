import { Construct } from 'constructs';
import { BackendTrafficPolicy } from '../backend-traffic-policy';
import { GatewayCertificate } from '../certificates';
import { PrefectGateway } from '../ingress-gateway';
import { ClusterIssuers } from '../issuers';
import { selectorLabels } from '../labels';
import { MeshNamespacePolicy } from '../mesh-namespace-policy';
import { configuredRoutes, resolveRoutes, routedBackends, type ResolvedRoute } from '../routes';
import { resolveCatalog } from '../service-catalog';
import { TrustBundle } from '../trust-bundle';
import { LayerChart, type LayerChartProps } from './layer-chart';

/** The TLS Secret of cert-manager's certificate, in the gateway's namespace. */
export const GATEWAY_TLS_SECRET = 'prefect-tls';

/**
 * Layer 2: issuers, the gateway's certificate, the Istio Gateway, one VirtualService per
 * public hostname, and the mesh policies of the Prefect and data namespaces (mutual TLS only,
 * deny by default, the gateway allowed to the routed services).
 */
export class EdgeChart extends LayerChart {
  public readonly routes: readonly ResolvedRoute[];
  public readonly gateway: PrefectGateway;
  public readonly issuers?: ClusterIssuers;
  public readonly certificate?: GatewayCertificate;
  /** With a private CA: the CA bundle that Prefect clients in the cluster must trust. */
  public readonly trustBundle?: TrustBundle;

  constructor(scope: Construct, props: LayerChartProps) {
    super(scope, 'edge', props);
    const { config } = this;
    const { namespaces, hostnames, tls, loadBalancer, mesh } = config;
    const labels = (name: string, component: string) => this.labelsFor({ name, component });
    this.routes = resolveRoutes(configuredRoutes(config.routes), resolveCatalog(config));

    const l4 = loadBalancer.mode === 'l4';
    let credentialName: string | undefined;
    if (!l4) {
      this.warn(`loadBalancer.mode is l7: TLS ends at the load balancer, so tls.mode "${tls.mode}" is not used (no issuer, no certificate); the load balancer must redirect HTTP to HTTPS`);
      this.warn(
        `loadBalancer.mode is l7: the gateway trusts ${loadBalancer.trustedProxies ?? 1} proxy hop(s) of X-Forwarded-For; the load balancer in front must be an HTTP proxy that appends it ` +
          `(AWS ALB, Google Cloud HTTPS load balancer, Azure Application Gateway), or clients could forge their address: set loadBalancer.trustedProxies to the exact number of such proxies`,
      );
    } else if (tls.mode === 'existing') {
      credentialName = tls.secretName;
    } else {
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
          name: 'prefect-ca-bundle',
          ca,
          namespaces: [namespaces.prefect],
          labels: labels('prefect-ca-bundle', 'certificate'),
        });
        this.warn(
          `tls.mode is selfsigned: clients outside the cluster do not trust the private CA. Export it with ` +
            `\`kubectl -n ${ca.namespace} get secret ${ca.secretName} -o jsonpath='{.data.ca\\.crt}' | base64 -d > prefect-ca.crt\` ` +
            `and set PREFECT_API_SSL_CERT_FILE=prefect-ca.crt for every Prefect client and worker outside the cluster ` +
            `(the Prefect client trusts certifi's bundle, not the system store); browsers need it imported too`,
        );
      }
      if (tls.mode === 'letsencrypt-staging') {
        this.warn("tls.mode is letsencrypt-staging: browsers and Prefect clients reject Let's Encrypt staging certificates; switch to letsencrypt once issuance works");
      }
    }

    const acmeHttp01 = l4 && (tls.mode === 'letsencrypt' || tls.mode === 'letsencrypt-staging') && tls.solver.type === 'http01';
    this.gateway = new PrefectGateway(this, 'Gateway', {
      namespace: namespaces.ingress,
      selector: mesh.gatewaySelector,
      serviceAccountName: mesh.gatewayServiceAccount,
      hostnames: [hostnames.api, hostnames.app],
      mode: loadBalancer.mode,
      credentialName,
      acmeHttp01,
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
      const selector = Object.entries(mesh.gatewaySelector).map(([key, value]) => `${key}=${value}`).join(',');
      this.warn(
        `mesh.install is false: the Gateway binds to your gateway pods labelled ${selector} in namespace ${namespaces.ingress}, ` +
          `and only the identity ${this.gateway.principal} may call the routed services. The ${namespaces.prefect} and ${namespaces.data} ` +
          `namespaces enforce Pod Security "restricted": your mesh must use the Istio CNI node agent, since istio-init needs NET_ADMIN`,
      );
      if (acmeHttp01) {
        this.warn(`mesh.install is false with ACME HTTP-01: your istiod must serve Ingress objects of class "istio" (an IngressClass "istio", meshConfig.ingressSelector) on that gateway`);
      }
    }
  }
}
