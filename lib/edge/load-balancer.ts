/*
 * The load balancer in front of the Istio ingress gateway: for each mode and provider, where TLS
 * ends, what the gateway's Service looks like, and how client addresses reach the gateway.
 *
 * | mode | provider        | TLS ends at                          | gateway Service                 | client address          |
 * |------|-----------------|--------------------------------------|---------------------------------|-------------------------|
 * | l4   | any             | the gateway (cert-manager's Secret)  | LoadBalancer, provider preset   | the connection's source |
 * | l7   | aws             | the NLB's TLS listener (ACM)         | LoadBalancer, NLB TLS listener  | PROXY protocol v2       |
 * | l7   | gcp/azure/generic | your HTTP(S) proxy                 | ClusterIP (or NodePort)         | X-Forwarded-For hops    |
 *
 * An AWS NLB can end TLS itself, so L7 on AWS needs nothing but the certificate. Google's and
 * Azure's network load balancers cannot: there, L7 means an HTTP(S) proxy the user runs (GCE
 * Ingress or a GKE Gateway, Azure Application Gateway) that forwards plain HTTP to the gateway.
 */

import {
  type LoadBalancerMode,
  type LoadBalancerProvider,
  loadBalancerProblems,
  type TlsTermination,
  tlsTermination,
} from '../config/load-balancer-rules';

export type { LoadBalancerMode, LoadBalancerProvider, TlsTermination } from '../config/load-balancer-rules';
export { tlsTermination } from '../config/load-balancer-rules';

/** The AWS Load Balancer Controller's annotation prefix. */
const AWS = 'service.beta.kubernetes.io/aws-load-balancer';

/** The gateway's readiness endpoint (the Envoy status listener, outside the PROXY protocol). */
export const GATEWAY_STATUS_PORT = 15021;
export const GATEWAY_READINESS_PATH = '/healthz/ready';

/**
 * The Service annotations that turn a plain `type: LoadBalancer` into the TCP load balancer an
 * L4 ingress needs on each cloud. `loadBalancer.annotations` adds to them and wins on conflicts.
 */
export const LOAD_BALANCER_PRESETS: Record<LoadBalancerProvider, Readonly<Record<string, string>>> = {
  // AWS Load Balancer Controller: an internet-facing NLB that targets the gateway pods' IPs
  // directly (no node hop, so externalTrafficPolicy changes neither the path nor the health
  // check), balanced across every zone. Client IP preservation is off by default for IP targets
  // over TCP: without it the gateway would see the NLB's private address, and the Service's
  // source ranges would not be enforced on the targets' security group. The health check asks
  // the gateway's readiness endpoint, so a draining pod leaves the target group first.
  aws: {
    [`${AWS}-type`]: 'external',
    [`${AWS}-nlb-target-type`]: 'ip',
    [`${AWS}-scheme`]: 'internet-facing',
    [`${AWS}-attributes`]: 'load_balancing.cross_zone.enabled=true',
    [`${AWS}-target-group-attributes`]: 'preserve_client_ip.enabled=true',
    [`${AWS}-healthcheck-protocol`]: 'http',
    [`${AWS}-healthcheck-port`]: String(GATEWAY_STATUS_PORT),
    [`${AWS}-healthcheck-path`]: GATEWAY_READINESS_PATH,
  },
  // GKE: the backend-service based external passthrough Network Load Balancer (regional,
  // health-checked per node), which Google recommends over the target-pool based one.
  gcp: {
    'cloud.google.com/l4-rbs': 'enabled',
  },
  // AKS: a public Standard Load Balancer. Its idle timeout (4 minutes by default) would cut
  // the long-lived event websockets; 30 minutes keeps them up between pings.
  azure: {
    'service.beta.kubernetes.io/azure-load-balancer-internal': 'false',
    'service.beta.kubernetes.io/azure-load-balancer-tcp-idle-timeout': '30',
  },
  generic: {},
};

/**
 * L7 on AWS: the NLB of the L4 preset gets a TLS listener on 443 with the ACM certificate
 * (TLS 1.2 or newer, as the gateway itself requires in L4 mode), forwards plain TCP to the pods,
 * and prepends a PROXY protocol v2 header carrying the client's address to every connection.
 */
export function nlbTlsAnnotations(certificateArn: string): Record<string, string> {
  return {
    ...LOAD_BALANCER_PRESETS.aws,
    [`${AWS}-ssl-cert`]: certificateArn,
    [`${AWS}-ssl-ports`]: '443',
    [`${AWS}-ssl-negotiation-policy`]: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
    [`${AWS}-backend-protocol`]: 'tcp',
    [`${AWS}-proxy-protocol`]: '*',
  };
}

/**
 * L7 behind an HTTP(S) proxy: annotations of the ClusterIP Service the proxy forwards to. On
 * GKE, container-native load balancing (network endpoint groups) sends Ingress traffic to the
 * pods' addresses; a GKE Gateway creates its NEGs without it.
 */
export const HTTP_PROXY_PRESETS: Record<Exclude<LoadBalancerProvider, 'aws'>, Readonly<Record<string, string>>> = {
  gcp: { 'cloud.google.com/neg': '{"ingress": true}' },
  azure: {},
  generic: {},
};

/**
 * X-Forwarded-For hops each provider's HTTP(S) proxy appends. Google's Application Load
 * Balancers append the client's address and the load balancer's own; Azure Application Gateway
 * appends the client's. A generic proxy's hops must be configured.
 */
export const DEFAULT_TRUSTED_PROXIES: Readonly<Partial<Record<LoadBalancerProvider, number>>> = { gcp: 2, azure: 1 };

export interface LoadBalancerSettings {
  readonly mode: LoadBalancerMode;
  readonly provider: LoadBalancerProvider;
  /** Added to the preset's annotations; these win on conflicts. */
  readonly annotations: Readonly<Record<string, string>>;
  /** Client ranges the load balancer admits; empty admits all. */
  readonly sourceRanges: readonly string[];
  /** Hostnames for external-dns; empty adds no annotation. */
  readonly externalDnsHostnames: readonly string[];
  /** L7 behind an HTTP(S) proxy: the X-Forwarded-For hops it appends. */
  readonly trustedProxies?: number;
  /** L7 on AWS: the ACM certificate's ARN. */
  readonly certificate?: string;
  /** L7 behind an HTTP(S) proxy: ClusterIP (a proxy in the cluster's network) or NodePort. */
  readonly serviceType?: 'ClusterIP' | 'NodePort';
}

export interface ServicePort {
  readonly name: string;
  readonly port: number;
  readonly protocol: 'TCP';
  readonly targetPort: number;
}

/** How the gateway is exposed: its Service, and what its listeners must expect. */
export interface GatewayExposure {
  readonly tlsTermination: TlsTermination;
  readonly serviceType: 'LoadBalancer' | 'ClusterIP' | 'NodePort';
  readonly annotations: Readonly<Record<string, string>>;
  /**
   * Only for a LoadBalancer. Where the load balancer targets nodes (GKE, AKS, an NLB switched to
   * instance targets): only nodes with a gateway pod receive traffic, with no second hop that
   * would replace the client's address, and the health check asks kube-proxy's per-node port.
   * The NLB preset's IP targets bypass nodes and kube-proxy: there it changes neither the path
   * nor the health check (the AWS Load Balancer Controller uses the node health port only for
   * instance targets), and client addresses depend on `preserve_client_ip` alone.
   */
  readonly externalTrafficPolicy?: 'Local';
  readonly sourceRanges: readonly string[];
  /** The Service's ports; undefined keeps the chart's (15021, 80, 443). */
  readonly ports?: readonly ServicePort[];
  /** The load balancer prepends a PROXY protocol header: the gateway's listeners must read it. */
  readonly proxyProtocol: boolean;
  /** X-Forwarded-For hops the gateway trusts; 0 uses the connection's (or PROXY header's) address. */
  readonly trustedProxies: number;
}

/**
 * The gateway's exposure for `settings`. Throws on the combinations that cannot work (the
 * configuration schema reports them first, naming the field).
 */
export function gatewayExposure(settings: LoadBalancerSettings): GatewayExposure {
  const { mode, provider } = settings;
  const termination = tlsTermination(mode, provider);
  const where = `loadBalancer (mode ${mode}, provider ${provider})`;
  const externalDns: Record<string, string> =
    settings.externalDnsHostnames.length > 0
      ? { 'external-dns.alpha.kubernetes.io/hostname': settings.externalDnsHostnames.join(',') }
      : {};
  const [problem] = loadBalancerProblems({ ...settings, externalDns: settings.externalDnsHostnames.length > 0 });
  if (problem !== undefined) throw new Error(`${where}: ${problem.field}: ${problem.message}`);

  if (termination === 'gateway') {
    return {
      tlsTermination: termination,
      serviceType: 'LoadBalancer',
      annotations: { ...LOAD_BALANCER_PRESETS[provider], ...externalDns, ...settings.annotations },
      externalTrafficPolicy: 'Local',
      sourceRanges: settings.sourceRanges,
      proxyProtocol: false,
      trustedProxies: 0,
    };
  }

  if (termination === 'load-balancer') {
    return {
      tlsTermination: termination,
      serviceType: 'LoadBalancer',
      annotations: { ...nlbTlsAnnotations(settings.certificate as string), ...externalDns, ...settings.annotations },
      externalTrafficPolicy: 'Local',
      sourceRanges: settings.sourceRanges,
      proxyProtocol: true,
      trustedProxies: 0,
    };
  }

  // The rules above require trustedProxies where no default is known (generic).
  const trustedProxies = (settings.trustedProxies ?? DEFAULT_TRUSTED_PROXIES[provider]) as number;
  return {
    tlsTermination: termination,
    serviceType: settings.serviceType ?? 'ClusterIP',
    annotations: { ...HTTP_PROXY_PRESETS[provider as Exclude<LoadBalancerProvider, 'aws'>], ...settings.annotations },
    sourceRanges: [],
    // The proxy sends HTTP to port 80 only; 15021 stays for its health check.
    ports: [
      { name: 'status-port', port: GATEWAY_STATUS_PORT, protocol: 'TCP', targetPort: GATEWAY_STATUS_PORT },
      { name: 'http2', port: 80, protocol: 'TCP', targetPort: 80 },
    ],
    proxyProtocol: false,
    trustedProxies,
  };
}
