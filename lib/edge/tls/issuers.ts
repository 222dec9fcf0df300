import type { RequiredSecret } from '../../core/required-secret';
import { Construct } from 'constructs';
import {
  Certificate,
  CertificateSpecPrivateKeyAlgorithm,
  CertificateSpecPrivateKeyRotationPolicy,
  ClusterIssuer,
  type ClusterIssuerSpecAcmeSolvers,
} from '../../../imports/cert-manager-cert-manager.io';
import type { EnvironmentConfig } from '../../config/load';
import { ISTIO_INGRESS_CLASS } from '../../platform/istio-control-plane';

type TlsConfig = EnvironmentConfig['tls'];
type AcmeTls = Extract<TlsConfig, { mode: 'letsencrypt' | 'letsencrypt-staging' }>;
type Dns01Provider = Extract<AcmeTls['solver'], { type: 'dns01' }>['provider'];

/** Whether cert-manager answers ACME challenges over HTTP-01 (through Istio's ingress class; TLS at the gateway only). */
export function solvesHttp01(config: Pick<EnvironmentConfig, 'tls' | 'loadBalancer'>): boolean {
  const { tls } = config;
  return (
    config.loadBalancer.mode === 'l4' && (tls.mode === 'letsencrypt' || tls.mode === 'letsencrypt-staging') && tls.solver.type === 'http01'
  );
}

/**
 * The key Secret a DNS-01 solver reads, if it takes one: in cert-manager's namespace, where a
 * ClusterIssuer reads its Secrets.
 */
export function dns01Secrets(solver: AcmeTls['solver'], certManagerNamespace: string): RequiredSecret[] {
  if (solver.type !== 'dns01') return [];
  const { provider } = solver;
  const create = (name: string, values: string) => `kubectl --namespace ${certManagerNamespace} create secret generic ${name} ${values}`;
  switch (provider.name) {
    case 'route53':
      if (!provider.accessKeySecret) return [];
      return [
        {
          namespace: certManagerNamespace,
          name: provider.accessKeySecret.name,
          purpose: 'the AWS access key of the Route 53 DNS-01 solver (tls.solver.provider.accessKeySecret)',
          command: create(
            provider.accessKeySecret.name,
            `--from-literal=${provider.accessKeySecret.accessKeyIdKey}=<access key id> --from-literal=${provider.accessKeySecret.secretAccessKeyKey}="$AWS_SECRET_ACCESS_KEY"`,
          ),
        },
      ];
    case 'cloudDNS':
      if (!provider.serviceAccountSecret) return [];
      return [
        {
          namespace: certManagerNamespace,
          name: provider.serviceAccountSecret.name,
          purpose: 'the Google service account key of the Cloud DNS DNS-01 solver (tls.solver.provider.serviceAccountSecret)',
          command: create(
            provider.serviceAccountSecret.name,
            `--from-file=${provider.serviceAccountSecret.key}=<service account key file>`,
          ),
        },
      ];
    case 'cloudflare':
      return [
        {
          namespace: certManagerNamespace,
          name: provider.apiTokenSecret.name,
          purpose: 'the Cloudflare API token of the DNS-01 solver (tls.solver.provider.apiTokenSecret)',
          command: create(provider.apiTokenSecret.name, `--from-literal=${provider.apiTokenSecret.key}="$CLOUDFLARE_API_TOKEN"`),
        },
      ];
    case 'azureDNS':
      return []; // Azure Workload Identity: no key Secret
  }
}

/** The cloud identity of the cert-manager controller (config `mesh.certManager`). */
export interface CertManagerIdentity {
  readonly serviceAccountAnnotations: Readonly<Record<string, string>>;
  readonly podLabels: Readonly<Record<string, string>>;
}

/**
 * What a DNS-01 solver that uses the controller's ambient cloud identity (no key Secret) still
 * lacks, as an instruction naming the fields to set; undefined when nothing is missing or the
 * solver needs no identity. `serviceAccount` is the controller's, as "namespace/name".
 */
export function missingDns01Identity(solver: AcmeTls['solver'], identity: CertManagerIdentity, serviceAccount: string): string | undefined {
  if (solver.type !== 'dns01') return undefined;
  const { provider } = solver;
  const annotations = identity.serviceAccountAnnotations;
  switch (provider.name) {
    case 'route53':
      if (provider.accessKeySecret || annotations['eks.amazonaws.com/role-arn']) return undefined;
      return (
        `tls.solver route53 has no accessKeySecret, so cert-manager authenticates with its pod's AWS identity, and none is configured: ` +
        `set mesh.certManager.serviceAccountAnnotations."eks.amazonaws.com/role-arn" to an IAM role that may change the zone's records (IRSA), ` +
        `or associate an EKS Pod Identity with the service account ${serviceAccount}`
      );
    case 'cloudDNS':
      if (provider.serviceAccountSecret || annotations['iam.gke.io/gcp-service-account']) return undefined;
      return (
        `tls.solver cloudDNS has no serviceAccountSecret, so cert-manager authenticates with GKE Workload Identity, and none is configured: ` +
        `set mesh.certManager.serviceAccountAnnotations."iam.gke.io/gcp-service-account" to a Google service account with roles/dns.admin ` +
        `that ${serviceAccount} may impersonate (roles/iam.workloadIdentityUser), or grant roles/dns.admin to that Kubernetes service account's principal directly`
      );
    case 'azureDNS': {
      const missing: string[] = [];
      if (identity.podLabels['azure.workload.identity/use'] !== 'true')
        missing.push('mesh.certManager.podLabels."azure.workload.identity/use": "true"');
      if (!annotations['azure.workload.identity/client-id'] && !provider.managedIdentityClientID) {
        missing.push(
          `mesh.certManager.serviceAccountAnnotations."azure.workload.identity/client-id" (or tls.solver.provider.managedIdentityClientID) to the client ID of a managed identity with "DNS Zone Contributor" on the zone, federated with ${serviceAccount}`,
        );
      }
      if (missing.length === 0) return undefined;
      return `tls.solver azureDNS authenticates with Azure Workload Identity, which is not fully configured: set ${missing.join(', and ')}`;
    }
    case 'cloudflare':
      return undefined;
  }
}

export const LETS_ENCRYPT_SERVERS = {
  letsencrypt: 'https://acme-v02.api.letsencrypt.org/directory',
  'letsencrypt-staging': 'https://acme-staging-v02.api.letsencrypt.org/directory',
} as const;

/** How a Certificate names its issuer. */
export interface IssuerReference {
  readonly name: string;
  readonly kind: 'ClusterIssuer';
  readonly group: 'cert-manager.io';
}

/** The private root CA of `selfsigned` mode: a Secret in cert-manager's namespace. */
export interface PrivateCa {
  readonly secretName: string;
  readonly namespace: string;
  /** The Secret key that holds the CA certificate. */
  readonly key: 'ca.crt';
}

export interface ClusterIssuersProps {
  /** An issuing mode: ACME (Let's Encrypt) or a private CA; `existing` issues nothing. */
  readonly tls: Exclude<TlsConfig, { mode: 'existing' }>;
  /** cert-manager's cluster resource namespace: issuers read their Secrets there. */
  readonly certManagerNamespace: string;
  readonly environment: string;
  /** Recommended labels for an object named `name`. */
  readonly labelsFor: (name: string) => Record<string, string>;
}

/**
 * The cert-manager ClusterIssuer that signs the gateway's certificate.
 *
 * - `letsencrypt` / `letsencrypt-staging`: an ACME issuer. HTTP-01 answers challenges through
 *   Istio (an Ingress of class "istio" on the ingress gateway); DNS-01 writes a TXT record with
 *   the configured provider, whose credentials are only ever referenced by Secret name.
 * - `selfsigned`: a self-signed root issuer signs a CA certificate (in cert-manager's
 *   namespace), and a CA issuer signs with it.
 *
 * Names carry a `prefect-` prefix: ClusterIssuers are cluster-wide and must not take over an
 * issuer the cluster already has.
 */
export class ClusterIssuers extends Construct {
  public readonly issuerRef: IssuerReference;
  /** The private CA, in `selfsigned` mode. */
  public readonly privateCa?: PrivateCa;

  constructor(scope: Construct, id: string, props: ClusterIssuersProps) {
    super(scope, id);
    const { tls } = props;
    if (tls.mode === 'selfsigned') {
      const rootName = 'prefect-selfsigned';
      const caName = 'prefect-ca';
      const caSecret = 'prefect-root-ca';
      new ClusterIssuer(this, 'SelfSigned', { metadata: { name: rootName, labels: props.labelsFor(rootName) }, spec: { selfSigned: {} } });
      new Certificate(this, 'RootCa', {
        metadata: { name: caSecret, namespace: props.certManagerNamespace, labels: props.labelsFor(caSecret) },
        spec: {
          isCa: true,
          commonName: `Prefect ${props.environment} root CA`,
          secretName: caSecret,
          secretTemplate: { labels: props.labelsFor(caSecret) },
          duration: tls.caDuration,
          // The key stays across renewals, so that a copy of the CA exported for clients
          // outside the cluster keeps verifying certificates signed by the renewed CA.
          privateKey: {
            algorithm: CertificateSpecPrivateKeyAlgorithm.ECDSA,
            size: 256,
            rotationPolicy: CertificateSpecPrivateKeyRotationPolicy.NEVER,
          },
          issuerRef: { name: rootName, kind: 'ClusterIssuer', group: 'cert-manager.io' },
        },
      });
      new ClusterIssuer(this, 'Ca', {
        metadata: { name: caName, labels: props.labelsFor(caName) },
        spec: { ca: { secretName: caSecret } },
      });
      this.issuerRef = { name: caName, kind: 'ClusterIssuer', group: 'cert-manager.io' };
      this.privateCa = { secretName: caSecret, namespace: props.certManagerNamespace, key: 'ca.crt' };
      return;
    }

    const name = tls.mode === 'letsencrypt' ? 'prefect-letsencrypt' : 'prefect-letsencrypt-staging';
    new ClusterIssuer(this, 'Acme', {
      metadata: { name, labels: props.labelsFor(name) },
      spec: {
        acme: {
          server: LETS_ENCRYPT_SERVERS[tls.mode],
          email: tls.email,
          // The ACME account's key, created by cert-manager in its namespace.
          privateKeySecretRef: { name: `${name}-account` },
          solvers: [acmeSolver(tls.solver)],
        },
      },
    });
    this.issuerRef = { name, kind: 'ClusterIssuer', group: 'cert-manager.io' };
  }
}

function acmeSolver(solver: AcmeTls['solver']): ClusterIssuerSpecAcmeSolvers {
  if (solver.type === 'http01') {
    return {
      http01: {
        ingress: {
          ingressClassName: ISTIO_INGRESS_CLASS,
          // The solver only answers the gateway inside the cluster.
          serviceType: 'ClusterIP',
          // A sidecar would keep the short-lived solver pod waiting on the mesh; the gateway
          // reaches it in plain HTTP, as it would any pod outside the mesh.
          podTemplate: { metadata: { labels: { 'sidecar.istio.io/inject': 'false' } } },
        },
      },
    };
  }
  return { dns01: dns01Provider(solver.provider) };
}

function dns01Provider(provider: Dns01Provider): NonNullable<ClusterIssuerSpecAcmeSolvers['dns01']> {
  switch (provider.name) {
    case 'route53':
      return {
        route53: {
          region: provider.region,
          ...(provider.hostedZoneID ? { hostedZoneId: provider.hostedZoneID } : {}),
          // Without a key Secret, cert-manager uses the pod's AWS identity (IRSA or Pod Identity).
          ...(provider.accessKeySecret
            ? {
                accessKeyIdSecretRef: { name: provider.accessKeySecret.name, key: provider.accessKeySecret.accessKeyIdKey },
                secretAccessKeySecretRef: { name: provider.accessKeySecret.name, key: provider.accessKeySecret.secretAccessKeyKey },
              }
            : {}),
        },
      };
    case 'cloudDNS':
      return {
        cloudDns: {
          project: provider.project,
          // Without a key Secret, cert-manager uses Workload Identity.
          ...(provider.serviceAccountSecret
            ? { serviceAccountSecretRef: { name: provider.serviceAccountSecret.name, key: provider.serviceAccountSecret.key } }
            : {}),
        },
      };
    case 'cloudflare':
      return { cloudflare: { apiTokenSecretRef: { name: provider.apiTokenSecret.name, key: provider.apiTokenSecret.key } } };
    case 'azureDNS':
      return {
        azureDns: {
          subscriptionId: provider.subscriptionID,
          resourceGroupName: provider.resourceGroupName,
          hostedZoneName: provider.hostedZoneName,
          // Azure Workload Identity: the managed identity's client ID, never a client secret.
          ...(provider.managedIdentityClientID ? { managedIdentity: { clientId: provider.managedIdentityClientID } } : {}),
        },
      };
  }
}
