import { Construct } from 'constructs';
import type { Resources } from './config/schema';
import { FluxHelmRelease, type FluxHelmRepository } from './helm-release';

export type LoadBalancerProvider = 'aws' | 'gcp' | 'azure' | 'generic';

/**
 * The Service annotations each provider preset sets, so that a plain `type: LoadBalancer`
 * becomes the load balancer an ingress needs on that cloud. `loadBalancer.annotations` in the
 * configuration adds to them and wins on conflicts.
 */
export const LOAD_BALANCER_PRESETS: Record<LoadBalancerProvider, Readonly<Record<string, string>>> = {
  // AWS Load Balancer Controller: an internet-facing NLB that targets the gateway pods' IPs
  // directly (no node hop), balanced across every zone the gateway runs in.
  aws: {
    'service.beta.kubernetes.io/aws-load-balancer-type': 'external',
    'service.beta.kubernetes.io/aws-load-balancer-nlb-target-type': 'ip',
    'service.beta.kubernetes.io/aws-load-balancer-scheme': 'internet-facing',
    'service.beta.kubernetes.io/aws-load-balancer-attributes': 'load_balancing.cross_zone.enabled=true',
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

export interface IngressGatewayReleaseProps {
  /** The HelmRelease's name, which also names the gateway's Deployment, Service and ServiceAccount. */
  readonly name: string;
  readonly fluxNamespace: string;
  /** The gateway's own namespace (it reads the TLS Secret there). */
  readonly namespace: string;
  readonly repository: FluxHelmRepository;
  readonly version: string;
  /** Releases that must be ready first (the control plane, which injects the gateway). */
  readonly dependsOn: readonly FluxHelmRelease[];
  readonly labels: Record<string, string>;
  /** Pod labels that the Istio `Gateway` selects the gateway by. */
  readonly selector: Record<string, string>;
  readonly serviceAccountName: string;
  /** The minimum (and starting) number of replicas. */
  readonly replicas: number;
  /** The HPA's maximum; equal to `replicas` switches the HPA off. */
  readonly maxReplicas: number;
  readonly resources: Resources;
  /**
   * Spread replicas over zones strictly (DoNotSchedule) rather than best-effort.
   * @default false
   */
  readonly multiZone?: boolean;
  readonly loadBalancer: {
    readonly mode: 'l4' | 'l7';
    readonly provider: LoadBalancerProvider;
    readonly annotations: Readonly<Record<string, string>>;
    readonly sourceRanges: readonly string[];
    /** Hostnames for external-dns; empty adds no annotation. */
    readonly externalDnsHostnames: readonly string[];
    /** L7 mode: proxies in front of the gateway that append to X-Forwarded-For. */
    readonly trustedProxies?: number;
  };
  /** @default - none */
  readonly platform?: string;
}

/**
 * The Istio ingress gateway (chart `gateway`), installed by Flux: replicas with an HPA and a
 * PDB, spread over zones and nodes, behind a Service of type LoadBalancer that keeps client
 * addresses (`externalTrafficPolicy: Local`) and admits only the configured source ranges.
 */
export class IngressGatewayRelease extends Construct {
  public readonly name: string;
  public readonly namespace: string;
  public readonly selector: Record<string, string>;
  public readonly serviceAccountName: string;
  public readonly release: FluxHelmRelease;

  constructor(scope: Construct, id: string, props: IngressGatewayReleaseProps) {
    super(scope, id);
    if (props.maxReplicas < props.replicas) {
      throw new Error(`ingress gateway ${props.name}: maxReplicas (${props.maxReplicas}) is below replicas (${props.replicas})`);
    }
    this.name = props.name;
    this.namespace = props.namespace;
    this.selector = props.selector;
    this.serviceAccountName = props.serviceAccountName;
    this.release = new FluxHelmRelease(this, 'Release', {
      name: props.name,
      namespace: props.fluxNamespace,
      targetNamespace: props.namespace,
      labels: props.labels,
      repository: props.repository,
      chart: 'gateway',
      version: props.version,
      dependsOn: props.dependsOn,
      values: gatewayValues(props),
    });
  }
}

/** The `gateway` chart's values (see its values.yaml for the keys). */
function gatewayValues(props: IngressGatewayReleaseProps): Record<string, unknown> {
  const { loadBalancer } = props;
  const autoscale = props.maxReplicas > props.replicas;
  const spread = (topologyKey: string, strict: boolean) => ({
    maxSkew: 1,
    topologyKey,
    whenUnsatisfiable: strict ? 'DoNotSchedule' : 'ScheduleAnyway',
    labelSelector: { matchLabels: props.selector },
  });
  const annotations: Record<string, string> = {
    ...LOAD_BALANCER_PRESETS[loadBalancer.provider],
    ...(loadBalancer.externalDnsHostnames.length > 0 ? { 'external-dns.alpha.kubernetes.io/hostname': loadBalancer.externalDnsHostnames.join(',') } : {}),
    ...loadBalancer.annotations,
  };
  const l7 = loadBalancer.mode === 'l7';
  return {
    ...(props.platform ? { global: { platform: props.platform } } : {}),
    // The chart turns `app` and `istio` into its selector labels and adds the rest to the pods.
    labels: props.selector,
    serviceAccount: { create: true, name: props.serviceAccountName },
    replicaCount: props.replicas,
    autoscaling: autoscale
      ? { enabled: true, minReplicas: props.replicas, maxReplicas: props.maxReplicas, targetCPUUtilizationPercentage: 80 }
      : { enabled: false },
    // One pod at a time may go during a drain; a broken pod never blocks one. With a single
    // replica a budget would only block drains, so there is none.
    podDisruptionBudget: props.replicas > 1 ? { maxUnavailable: 1, unhealthyPodEvictionPolicy: 'AlwaysAllow' } : {},
    topologySpreadConstraints: [spread('topology.kubernetes.io/zone', props.multiZone ?? false), spread('kubernetes.io/hostname', false)],
    resources: {
      requests: { ...props.resources.requests },
      ...(props.resources.limits ? { limits: { ...props.resources.limits } } : {}),
    },
    service: {
      type: 'LoadBalancer',
      annotations,
      // Only nodes with a gateway pod receive traffic: no second hop, client addresses kept.
      externalTrafficPolicy: 'Local',
      ...(loadBalancer.sourceRanges.length > 0 ? { loadBalancerSourceRanges: [...loadBalancer.sourceRanges] } : {}),
      // L7: the load balancer ends TLS on 443 and forwards plain HTTP, so both ports lead to
      // the gateway's HTTP listener.
      ...(l7
        ? {
            ports: [
              { name: 'status-port', port: 15021, protocol: 'TCP', targetPort: 15021 },
              { name: 'http2', port: 80, protocol: 'TCP', targetPort: 80 },
              { name: 'http-lb-tls', port: 443, protocol: 'TCP', targetPort: 80 },
            ],
          }
        : {}),
    },
    // L7: trust the load balancer's X-Forwarded-For entries, so that the client's address
    // (and X-Forwarded-Proto, the original scheme) reach the services. Scoped to this gateway.
    ...(l7 ? { podAnnotations: { 'proxy.istio.io/config': JSON.stringify({ gatewayTopology: { numTrustedProxies: loadBalancer.trustedProxies ?? 1 } }) } } : {}),
  };
}
