import type { Mesh } from './identity';
import { Construct } from 'constructs';
import {
  AuthorizationPolicy,
  AuthorizationPolicySpecAction,
  type AuthorizationPolicySpecRules,
} from '../../imports/istio-security.istio.io';
import { principalOf, type DataClient, type EgressRule } from '../data/data-client';
import { lazyList } from '../core/lazy-list';
import { WorkloadNetworkPolicy } from './workload-network-policy';

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
  public readonly authorizationPolicy?: AuthorizationPolicy;
  public readonly port: number;
  private readonly namespace: string;
  private readonly podSelector: Record<string, string>;
  private readonly admitted = new Map<string, DataClient>();

  constructor(scope: Construct, id: string, props: ServerAccessProps) {
    super(scope, id);
    this.port = props.port;
    this.namespace = props.namespace;
    this.podSelector = props.podSelector;
    this.networkPolicy = new WorkloadNetworkPolicy(this, 'NetworkPolicy', {
      name: props.name,
      namespace: props.namespace,
      labels: props.labels,
      podSelector: props.podSelector,
      mesh: props.mesh,
      restrictEgress: props.restrictEgress,
    });
    if (props.inMesh ?? true) {
      this.authorizationPolicy = new AuthorizationPolicy(this, 'AuthorizationPolicy', {
        metadata: { name: props.name, namespace: props.namespace, labels: props.labels },
        spec: {
          selector: { matchLabels: props.podSelector },
          action: AuthorizationPolicySpecAction.ALLOW,
          // No client yet: no rule, and an ALLOW policy without rules allows nothing.
          rules: lazyList<AuthorizationPolicySpecRules>(() => {
            const principals = [
              ...new Set([...this.admitted.values()].map((client) => principalOf(client, props.mesh.trustDomain))),
            ].sort();
            return principals.length === 0
              ? []
              : [{ from: [{ source: { principals } }], to: [{ operation: { ports: [String(props.port)] } }] }];
          }),
        },
      });
    }
  }

  /** Admits `client`'s pods and mesh identity to the server's port. */
  public admit(client: DataClient): void {
    this.admitted.set(`${client.namespace}/${client.name}`, client);
    this.networkPolicy.allowIngress({ namespace: client.namespace, podSelector: client.selectorLabels }, [this.port]);
  }

  /** The rule a client's own NetworkPolicy needs to reach the server. */
  public egressRule(purpose: string): EgressRule {
    return { purpose, namespace: this.namespace, podSelector: this.podSelector, port: this.port };
  }

  /** The admitted clients, as "<namespace>/<name>", sorted. */
  public get clients(): string[] {
    return [...this.admitted.keys()].sort();
  }
}
