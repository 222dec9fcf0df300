import { Construct } from 'constructs';
import {
  AuthorizationPolicy,
  AuthorizationPolicySpecAction,
  type AuthorizationPolicySpecRules,
} from '../../imports/istio-security.istio.io';
import { lazyList } from '../core/lazy-list';

export interface PrincipalAllowPolicyProps {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  /** Labels that select exactly the pods the policy guards. */
  readonly podSelector: Record<string, string>;
  /** The one port the allowed principals may call. */
  readonly port: number;
}

/**
 * An Istio ALLOW AuthorizationPolicy on one workload's port, for the mesh identities given with
 * `allow`. The rules are read at synthesis, so principals allowed after construction are
 * included; with none, the policy has no rule, and an ALLOW policy without rules allows nothing.
 */
export class PrincipalAllowPolicy extends Construct {
  public readonly resource: AuthorizationPolicy;
  private readonly principals = new Set<string>();

  constructor(scope: Construct, id: string, props: PrincipalAllowPolicyProps) {
    super(scope, id);
    this.resource = new AuthorizationPolicy(this, 'Resource', {
      metadata: { name: props.name, namespace: props.namespace, labels: props.labels },
      spec: {
        action: AuthorizationPolicySpecAction.ALLOW,
        selector: { matchLabels: props.podSelector },
        rules: lazyList<AuthorizationPolicySpecRules>(() => {
          const principals = [...this.principals].sort();
          return principals.length === 0
            ? []
            : [{ from: [{ source: { principals } }], to: [{ operation: { ports: [String(props.port)] } }] }];
        }),
      },
    });
  }

  /** Lets the pods with mesh identity `principal` call the port. Idempotent. */
  public allow(principal: string): void {
    this.principals.add(principal);
  }
}
