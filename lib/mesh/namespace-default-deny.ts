import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';

export interface NamespaceDefaultDenyProps {
  readonly namespace: string;
  readonly labels: Record<string, string>;
}

/** The default-deny policy's name, the same in every namespace that has one. */
export const DEFAULT_DENY_POLICY_NAME = 'default-deny';

/**
 * A NetworkPolicy that selects every pod of a namespace and allows nothing, in either direction.
 * NetworkPolicies add up: a pod that another policy selects gets what that policy opens, and a
 * pod that none opens (one an operator creates, one added later without its policy) stays
 * closed instead of open. The workloads' own policies (lib/mesh/workload-network-policy.ts) open
 * exactly what their relations need, DNS and istiod included.
 */
export class NamespaceDefaultDeny extends Construct {
  public readonly resource: k8s.KubeNetworkPolicy;

  constructor(scope: Construct, id: string, props: NamespaceDefaultDenyProps) {
    super(scope, id);
    this.resource = new k8s.KubeNetworkPolicy(this, 'Resource', {
      metadata: { name: DEFAULT_DENY_POLICY_NAME, namespace: props.namespace, labels: props.labels },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });
  }
}
