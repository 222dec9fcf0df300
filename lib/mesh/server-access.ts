import type { Mesh } from './identity';
import { Construct } from 'constructs';
import type { DataClient, EgressRule } from '../core/data-client';
import { principalOf } from './identity';
import { WorkloadNetworkPolicy } from './workload-network-policy';
import { PrincipalAllowPolicy } from './principal-allow-policy';

export interface ServerAccessProps {
  /** Names both policies, e.g. "postgres" or "redis-cache". */
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  /** Labels that select exactly the server's pods. */
  readonly podSelector: Record<string, string>;
  /** The server's port, the only one clients are admitted to. */
  readonly port: number;
  readonly mesh: Mesh;
  /**
   * The server's pods run an Istio sidecar: emit the AuthorizationPolicy that allows the clients'
   * mesh identities (the namespace denies everything else).
   * @default true
   */
  readonly inMesh?: boolean;
  /** @default true */
  readonly restrictEgress?: boolean;
}

/**
 * Who may connect to a data server, at both layers: the server's NetworkPolicy (pods) and its
 * Istio AuthorizationPolicy (mesh identities, i.e. service accounts). Both start empty and are
 * opened only by relation methods (`admit`), read at synthesis.
 */
export class ServerAccess extends Construct {
  public readonly networkPolicy: WorkloadNetworkPolicy;
  public readonly authorizationPolicy?: PrincipalAllowPolicy;
  public readonly port: number;
  private readonly namespace: string;
  private readonly podSelector: Record<string, string>;
  private readonly trustDomain: string;

  constructor(scope: Construct, id: string, props: ServerAccessProps) {
    super(scope, id);
    this.port = props.port;
    this.namespace = props.namespace;
    this.podSelector = props.podSelector;
    this.trustDomain = props.mesh.trustDomain;
    this.networkPolicy = new WorkloadNetworkPolicy(this, 'NetworkPolicy', {
      name: props.name,
      namespace: props.namespace,
      labels: props.labels,
      podSelector: props.podSelector,
      mesh: props.mesh,
      restrictEgress: props.restrictEgress,
    });
    if (props.inMesh ?? true) {
      this.authorizationPolicy = new PrincipalAllowPolicy(this, 'AuthorizationPolicy', {
        name: props.name,
        namespace: props.namespace,
        labels: props.labels,
        podSelector: props.podSelector,
        port: props.port,
      });
    }
  }

  /** Admits `client`'s pods and mesh identity to the server's port. */
  public admit(client: DataClient): void {
    this.authorizationPolicy?.allow(principalOf(client, this.trustDomain));
    this.networkPolicy.allowIngress({ namespace: client.namespace, podSelector: client.selectorLabels }, [this.port]);
  }

  /** The rule a client's own NetworkPolicy needs to reach the server. */
  public egressRule(purpose: string): EgressRule {
    return { purpose, namespace: this.namespace, podSelector: this.podSelector, port: this.port };
  }
}
