import { Construct } from 'constructs';
import {
  Certificate,
  CertificateSpecPrivateKeyAlgorithm,
  CertificateSpecPrivateKeyRotationPolicy,
} from '../../../imports/cert-manager-cert-manager.io';
import type { IssuerReference } from './issuers';

/** X.509 limits a certificate's common name to 64 characters (cert-manager rejects longer ones). */
const MAX_COMMON_NAME = 64;

export interface GatewayCertificateProps {
  /** The Certificate's name; its Secret has the same name. */
  readonly name: string;
  /**
   * The ingress gateway's namespace: a Gateway's `credentialName` can only read Secrets in the
   * namespace of the gateway pods.
   */
  readonly namespace: string;
  /** Every hostname the gateway serves; the first is also the common name. */
  readonly hostnames: readonly string[];
  readonly issuer: IssuerReference;
  /** Certificate lifetime, e.g. "2160h". */
  readonly duration: string;
  /** Renew this long before expiry, e.g. "720h". */
  readonly renewBefore: string;
  readonly labels: Record<string, string>;
}

/**
 * One certificate for all public hostnames, served by the ingress gateway. Its private key is
 * ECDSA P-256 and a new one is generated on every renewal.
 */
export class GatewayCertificate extends Construct {
  /** The `kubernetes.io/tls` Secret that cert-manager writes, for the Gateway's credentialName. */
  public readonly secretName: string;
  public readonly resource: Certificate;

  constructor(scope: Construct, id: string, props: GatewayCertificateProps) {
    super(scope, id);
    const [first] = props.hostnames;
    if (first === undefined) throw new Error(`Certificate ${props.name}: expected at least one hostname`);
    if (new Set(props.hostnames).size !== props.hostnames.length) {
      throw new Error(`Certificate ${props.name}: hostnames must be different, got ${props.hostnames.join(', ')}`);
    }
    this.secretName = props.name;
    this.resource = new Certificate(this, 'Resource', {
      metadata: { name: props.name, namespace: props.namespace, labels: props.labels },
      spec: {
        secretName: props.name,
        // The Secret carries the installation's labels too (it is found by them).
        secretTemplate: { labels: props.labels },
        // Clients match SANs; a common name is only for humans, and only when it fits.
        ...(first.length <= MAX_COMMON_NAME ? { commonName: first } : {}),
        dnsNames: [...props.hostnames],
        duration: props.duration,
        renewBefore: props.renewBefore,
        privateKey: {
          algorithm: CertificateSpecPrivateKeyAlgorithm.ECDSA,
          size: 256,
          rotationPolicy: CertificateSpecPrivateKeyRotationPolicy.ALWAYS,
        },
        issuerRef: { ...props.issuer },
      },
    });
  }
}
