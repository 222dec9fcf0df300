import type { ApiObjectMetadata } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { FLUX_PRUNE_DISABLED } from '../flux/annotations';

export interface PrefectNamespaceProps {
  readonly name: string;
  readonly labels: Record<string, string>;
  /**
   * Istio injects sidecars into every pod of the namespace.
   * @default false
   */
  readonly sidecarInjection?: boolean;
  /**
   * The Pod Security Standard the namespace enforces, or none for namespaces whose system pods
   * need more (the Istio control plane and CNI agent).
   * @default 'restricted'
   */
  readonly podSecurity?: 'restricted' | 'baseline' | 'privileged';
}

/**
 * A namespace of the installation. Flux never prunes it: deleting a namespace deletes every
 * object and volume claim in it, so its removal must be a deliberate, manual step.
 */
export class PrefectNamespace extends Construct {
  public readonly name: string;
  public readonly resource: kplus.Namespace;

  constructor(scope: Construct, id: string, props: PrefectNamespaceProps) {
    super(scope, id);
    this.name = props.name;
    const podSecurity = props.podSecurity ?? 'restricted';
    const metadata: ApiObjectMetadata = {
      name: props.name,
      labels: {
        ...props.labels,
        'pod-security.kubernetes.io/enforce': podSecurity,
        'pod-security.kubernetes.io/enforce-version': 'latest',
        'pod-security.kubernetes.io/warn': 'restricted',
        'pod-security.kubernetes.io/warn-version': 'latest',
        ...(props.sidecarInjection ? { 'istio-injection': 'enabled' } : {}),
      },
      annotations: { ...FLUX_PRUNE_DISABLED },
    };
    this.resource = new kplus.Namespace(this, 'Resource', { metadata });
  }
}
