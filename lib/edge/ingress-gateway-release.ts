import { PRIORITY_CLASS } from '../platform/priority-classes';
import { Construct } from 'constructs';
import type { Resources } from '../config/schema';
import { FluxHelmRelease, type FluxHelmRepository } from '../flux/helm-release';
import type { GatewayExposure } from './load-balancer';

/** The gateway release's name, which names its Deployment, Service and ServiceAccount too. */
export const INGRESS_GATEWAY_NAME = 'istio-ingressgateway';

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
  /** The gateway's Service and what its listeners must expect (lib/edge/load-balancer.ts). */
  readonly exposure: GatewayExposure;
  /** @default - none */
  readonly platform?: string;
}

/**
 * The Istio ingress gateway (chart `gateway`), installed by Flux: replicas with an HPA and a
 * PDB, spread over zones and nodes, behind the Service its exposure describes (lib/edge/load-balancer.ts):
 * a LoadBalancer with the provider's annotations, `externalTrafficPolicy: Local` and the
 * configured source ranges, or the ClusterIP (NodePort) Service an HTTP(S) proxy forwards to.
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
  const { exposure } = props;
  const autoscale = props.maxReplicas > props.replicas;
  const spread = (topologyKey: string, strict: boolean) => ({
    maxSkew: 1,
    topologyKey,
    whenUnsatisfiable: strict ? 'DoNotSchedule' : 'ScheduleAnyway',
    labelSelector: { matchLabels: props.selector },
  });
  // Scoped to this gateway's pods: which X-Forwarded-For hops to trust (the proxies in front
  // append them), and whether every connection starts with a PROXY protocol header.
  const gatewayTopology = {
    ...(exposure.trustedProxies > 0 ? { numTrustedProxies: exposure.trustedProxies } : {}),
    ...(exposure.proxyProtocol ? { proxyProtocol: {} } : {}),
  };
  return {
    ...(props.platform ? { global: { platform: props.platform } } : {}),
    // The chart turns `app` and `istio` into its selector labels and adds the rest to the pods.
    labels: props.selector,
    serviceAccount: { create: true, name: props.serviceAccountName },
    // Above the data tier and the services: every external request passes through it.
    priorityClassName: PRIORITY_CLASS.platform,
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
      type: exposure.serviceType,
      annotations: { ...exposure.annotations },
      ...(exposure.externalTrafficPolicy ? { externalTrafficPolicy: exposure.externalTrafficPolicy } : {}),
      ...(exposure.sourceRanges.length > 0 ? { loadBalancerSourceRanges: [...exposure.sourceRanges] } : {}),
      ...(exposure.ports ? { ports: exposure.ports.map((port) => ({ ...port })) } : {}),
    },
    ...(Object.keys(gatewayTopology).length > 0
      ? { podAnnotations: { 'proxy.istio.io/config': JSON.stringify({ gatewayTopology }) } }
      : {}),
  };
}
