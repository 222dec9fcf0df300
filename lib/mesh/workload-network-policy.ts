import type { Mesh } from './identity';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import type { EgressRule } from '../core/data-client';
import { lazyList } from '../core/lazy-list';

/** Pods of one namespace (all of them when `podSelector` is omitted). */
export interface NetworkPeer {
  readonly namespace: string;
  readonly podSelector?: Record<string, string>;
}

/** Addresses outside the cluster, by range (the internet, a corporate network): TCP to `ports`. */
export interface CidrEgressRule {
  readonly cidr: string;
  /** Ranges inside `cidr` that stay closed. @default - none */
  readonly except?: readonly string[];
  readonly ports: readonly number[];
}

export interface WorkloadNetworkPolicyProps {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  /** Labels that select exactly the workload's pods. */
  readonly podSelector: Record<string, string>;
  /** The mesh: istiod's namespace (sidecars fetch configuration and certificates there), trust domain, cluster DNS. */
  readonly mesh: Mesh;
  /**
   * Restrict egress too (to DNS, istiod and the rules added with `allowEgress`). Off for pods
   * that an operator manages and that talk to the API server or object stores (CloudNativePG):
   * their egress is then allowed explicitly, because the namespace's default-deny policy
   * (lib/mesh/namespace-default-deny.ts) closes every direction that no policy opens.
   * @default true
   */
  readonly restrictEgress?: boolean;
}

interface IngressEntry {
  readonly peer: NetworkPeer;
  readonly ports: readonly number[];
}

/**
 * The NetworkPolicy of one workload: nothing in, and (by default) nothing out but DNS and istiod,
 * until relation methods open exactly what is used. The rules are read at synthesis, so
 * relations added after construction are included.
 */
export class WorkloadNetworkPolicy extends Construct {
  public readonly name: string;
  public readonly resource: k8s.KubeNetworkPolicy;
  private readonly ingress = new Map<string, IngressEntry>();
  private readonly egress = new Map<string, EgressRule>();
  private readonly cidrEgress = new Map<string, CidrEgressRule>();

  constructor(scope: Construct, id: string, props: WorkloadNetworkPolicyProps) {
    super(scope, id);
    this.name = props.name;
    const restrictEgress = props.restrictEgress ?? true;
    this.resource = new k8s.KubeNetworkPolicy(this, 'Resource', {
      metadata: { name: props.name, namespace: props.namespace, labels: props.labels },
      spec: {
        podSelector: { matchLabels: props.podSelector },
        policyTypes: ['Ingress', 'Egress'],
        ingress: lazyList(() => [...this.ingress.values()].map(toIngressRule)),
        egress: restrictEgress
          ? lazyList(() => [
              ...baselineEgress(props.mesh),
              ...[...this.egress.values()].map(toEgressRule),
              ...[...this.cidrEgress.values()].map(toCidrEgressRule),
            ])
          : // One empty rule: every destination, every port.
            [{}],
      },
    });
  }

  /** Admits connections from `peer` to `ports` of the workload. */
  public allowIngress(peer: NetworkPeer, ports: readonly number[]): void {
    const key = JSON.stringify([peer.namespace, peer.podSelector ?? null, [...ports].sort()]);
    this.ingress.set(key, { peer, ports: [...ports].sort((a, b) => a - b) });
  }

  /** Lets the workload's pods open connections as `rule` says (no-op when egress is open). */
  public allowEgress(rule: EgressRule): void {
    const key = JSON.stringify([rule.namespace ?? null, rule.podSelector ?? null, rule.port]);
    this.egress.set(key, rule);
  }

  /** Lets the workload's pods open TCP connections to `rule.ports` of addresses in the range. */
  public allowEgressToCidr(rule: CidrEgressRule): void {
    const key = JSON.stringify([rule.cidr, [...(rule.except ?? [])].sort(), [...rule.ports].sort((a, b) => a - b)]);
    this.cidrEgress.set(key, rule);
  }
}

function peerOf(peer: NetworkPeer): k8s.NetworkPolicyPeer {
  return {
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': peer.namespace } },
    ...(peer.podSelector ? { podSelector: { matchLabels: peer.podSelector } } : {}),
  };
}

const tcp = (port: number): k8s.NetworkPolicyPort => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) });

function toIngressRule(entry: IngressEntry): k8s.NetworkPolicyIngressRule {
  return { from: [peerOf(entry.peer)], ports: entry.ports.map(tcp) };
}

function toEgressRule(rule: EgressRule): k8s.NetworkPolicyEgressRule {
  // A server outside the cluster (a managed service) has no pods to select: any address on
  // its port. The sidecar's ServiceEntry names the host.
  if (rule.namespace === undefined && rule.podSelector === undefined) return { ports: [tcp(rule.port)] };
  const to: k8s.NetworkPolicyPeer =
    rule.namespace === undefined
      ? { podSelector: { matchLabels: rule.podSelector ?? {} } }
      : peerOf({ namespace: rule.namespace, ...(rule.podSelector ? { podSelector: rule.podSelector } : {}) });
  return { to: [to], ports: [tcp(rule.port)] };
}

function toCidrEgressRule(rule: CidrEgressRule): k8s.NetworkPolicyEgressRule {
  const except = rule.except ?? [];
  return {
    to: [{ ipBlock: { cidr: rule.cidr, ...(except.length > 0 ? { except: [...except] } : {}) } }],
    ports: [...rule.ports].sort((a, b) => a - b).map(tcp),
  };
}

function baselineEgress({ istioNamespace, clusterDns: dns }: Mesh): k8s.NetworkPolicyEgressRule[] {
  const dnsPorts = [{ protocol: 'UDP', port: k8s.IntOrString.fromNumber(53) }, tcp(53)];
  return [
    // DNS: the cluster DNS pods (and a node-local cache, where configured), nothing else on 53.
    {
      to: [
        peerOf({ namespace: dns.namespace, podSelector: dns.podSelector }),
        ...dns.nodeLocalAddresses.map((cidr) => ({ ipBlock: { cidr } })),
      ],
      ports: dnsPorts,
    },
    // The sidecar's configuration and certificates (xDS and the CA) from istiod.
    { to: [peerOf({ namespace: istioNamespace })], ports: [tcp(15012)] },
  ];
}
