import { Construct } from 'constructs';
import { Bundle } from '../../../imports/trust-manager-trust.cert-manager.io';
import type { PrivateCa } from './issuers';

/**
 * How Flux tells that a Bundle has written its targets: kstatus cannot, since a Bundle reports a
 * `Synced` condition and no `Ready`. While the Bundle has no status yet the expression fails to
 * evaluate, and Flux keeps waiting (up to the Kustomization's timeout).
 */
export const BUNDLE_HEALTH_CHECK_EXPR: { readonly apiVersion: string; readonly kind: string; readonly current: string } = {
  apiVersion: Bundle.GVK.apiVersion,
  kind: Bundle.GVK.kind,
  current: "status.conditions.exists(c, c.type == 'Synced' && c.status == 'True')",
};

export interface TrustBundleProps {
  /** The Bundle's name, which is also the name of the ConfigMap it writes. */
  readonly name: string;
  readonly ca: PrivateCa;
  /** The namespaces that receive the ConfigMap. */
  readonly namespaces: readonly string[];
  readonly labels: Record<string, string>;
}

/**
 * A trust-manager Bundle: the public root CAs plus the private CA, written as a ConfigMap into
 * the given namespaces. Pods there point `PREFECT_API_SSL_CERT_FILE` (and SSL_CERT_FILE) at it:
 * the Prefect client trusts certifi's bundle, not the system store, so the private CA must be
 * named explicitly — and public CAs must stay in for every other HTTPS call.
 */
export class TrustBundle extends Construct {
  public readonly configMapName: string;
  /** The ConfigMap key holding the PEM bundle. */
  public readonly key = 'ca-certificates.crt';
  public readonly resource: Bundle;
  /** This Bundle, as a Flux Kustomization's `healthChecks` names it (cluster-scoped: no namespace). */
  public readonly healthCheck: { readonly apiVersion: string; readonly kind: string; readonly name: string };

  constructor(scope: Construct, id: string, props: TrustBundleProps) {
    super(scope, id);
    if (props.namespaces.length === 0) throw new Error(`Bundle ${props.name}: expected at least one target namespace`);
    this.configMapName = props.name;
    this.healthCheck = { apiVersion: BUNDLE_HEALTH_CHECK_EXPR.apiVersion, kind: BUNDLE_HEALTH_CHECK_EXPR.kind, name: props.name };
    this.resource = new Bundle(this, 'Resource', {
      metadata: { name: props.name, labels: props.labels },
      spec: {
        sources: [{ useDefaultCAs: true }, { secret: { name: props.ca.secretName, key: props.ca.key } }],
        target: {
          configMap: { key: this.key },
          namespaceSelector: {
            matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [...props.namespaces] }],
          },
        },
      },
    });
  }
}
