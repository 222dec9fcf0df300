import { Construct } from 'constructs';
import { AuthorizationPolicy, PeerAuthentication, PeerAuthenticationSpecMtlsMode } from '../../imports/istio-security.istio.io';

export interface MeshNamespacePolicyProps {
  readonly namespace: string;
  /** Recommended labels for an object named `name`. */
  readonly labelsFor: (name: string) => Record<string, string>;
}

/**
 * The mesh's baseline for one namespace: every workload accepts only Istio mutual TLS
 * (PeerAuthentication STRICT), and nothing may call anything (an ALLOW policy without rules
 * matches no request) until an AuthorizationPolicy allows it explicitly — the gateway's allows
 * come from PrefectGateway.allowTo, service-to-service allows from the layers that create the
 * services.
 */
export class MeshNamespacePolicy extends Construct {
  public readonly namespace: string;

  constructor(scope: Construct, id: string, props: MeshNamespacePolicyProps) {
    super(scope, id);
    this.namespace = props.namespace;
    new PeerAuthentication(this, 'MutualTls', {
      metadata: { name: 'default', namespace: props.namespace, labels: props.labelsFor('default') },
      spec: { mtls: { mode: PeerAuthenticationSpecMtlsMode.STRICT } },
    });
    new AuthorizationPolicy(this, 'DenyAll', {
      metadata: { name: 'deny-all', namespace: props.namespace, labels: props.labelsFor('deny-all') },
      spec: {},
    });
  }
}
