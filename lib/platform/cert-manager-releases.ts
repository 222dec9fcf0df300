import { PRIORITY_CLASS } from './priority-classes';
import { Construct } from 'constructs';
import { FluxHelmRelease, FluxHelmRepository } from '../flux/helm-release';

/** Jetstack's Helm chart repository (cert-manager and trust-manager). */
export const JETSTACK_CHART_REPOSITORY = 'https://charts.jetstack.io';

/** The controller's ServiceAccount: the chart names it after the release, "cert-manager". */
export const CERT_MANAGER_SERVICE_ACCOUNT = 'cert-manager';

/**
 * Requests of the controllers' pods (the charts set none, which the capacity check could not
 * count and the scheduler would not reserve). ASSUMPTION: sized for one installation's few
 * certificates, not for a cluster issuing thousands.
 */
export const CERT_MANAGER_REQUESTS = {
  controller: { cpu: '50m', memory: '128Mi' },
  webhook: { cpu: '10m', memory: '64Mi' },
  cainjector: { cpu: '10m', memory: '128Mi' },
  trustManager: { cpu: '10m', memory: '64Mi' },
} as const;

export interface CertManagerReleasesProps {
  readonly fluxNamespace: string;
  /** cert-manager's namespace: its "cluster resource namespace", where ClusterIssuers read Secrets. */
  readonly namespace: string;
  /** The cert-manager chart version, or undefined when the cluster already runs cert-manager. */
  readonly certManagerVersion?: string;
  /** The trust-manager chart version, or undefined when the cluster already runs trust-manager. */
  readonly trustManagerVersion?: string;
  /**
   * Annotations on cert-manager's ServiceAccount: its cloud identity for DNS-01 without a key
   * Secret (`eks.amazonaws.com/role-arn`, `iam.gke.io/gcp-service-account`,
   * `azure.workload.identity/client-id`).
   * @default - none
   */
  readonly serviceAccountAnnotations?: Readonly<Record<string, string>>;
  /**
   * Labels on the cert-manager controller's pods (`azure.workload.identity/use: "true"`).
   * @default - none
   */
  readonly podLabels?: Readonly<Record<string, string>>;
  /**
   * The chart's own ServiceMonitor of its controller, webhook and cainjector (the certificate
   * expiry metrics the alerts read), with these labels for Prometheus's selector.
   * @default - none
   */
  readonly serviceMonitorLabels?: Readonly<Record<string, string>>;
  /** Recommended labels for an object named `name` (a HelmRelease adds its chart's version). */
  readonly labelsFor: (name: string) => Record<string, string>;
}

/**
 * cert-manager (with its CRDs) and trust-manager, installed by Flux. trust-manager's webhook
 * certificate comes from cert-manager, so it waits for it.
 */
export class CertManagerReleases extends Construct {
  public readonly repository: FluxHelmRepository;
  public readonly certManager?: FluxHelmRelease;
  public readonly trustManager?: FluxHelmRelease;

  constructor(scope: Construct, id: string, props: CertManagerReleasesProps) {
    super(scope, id);
    if (props.certManagerVersion === undefined && props.trustManagerVersion === undefined) {
      throw new Error('CertManagerReleases: nothing to install; create it only when cert-manager or trust-manager is installed');
    }
    const serviceAccountAnnotations = props.serviceAccountAnnotations ?? {};
    const podLabels = props.podLabels ?? {};
    if (props.certManagerVersion === undefined && Object.keys(serviceAccountAnnotations).length + Object.keys(podLabels).length > 0) {
      throw new Error(
        'CertManagerReleases: serviceAccountAnnotations and podLabels configure the cert-manager this installs; without certManagerVersion there is none',
      );
    }
    this.repository = new FluxHelmRepository(this, 'Repository', {
      name: 'jetstack',
      namespace: props.fluxNamespace,
      labels: props.labelsFor('jetstack'),
      url: JETSTACK_CHART_REPOSITORY,
    });
    if (props.certManagerVersion !== undefined) {
      this.certManager = new FluxHelmRelease(this, 'CertManager', {
        name: 'cert-manager',
        namespace: props.fluxNamespace,
        targetNamespace: props.namespace,
        labels: props.labelsFor('cert-manager'),
        repository: this.repository,
        chart: 'cert-manager',
        version: props.certManagerVersion,
        values: {
          // The CRDs come with the chart and stay when the release is removed (certificates survive).
          crds: { enabled: true, keep: true },
          // Leader election in cert-manager's own namespace, not kube-system (managed clusters
          // often forbid writes there).
          global: { leaderElection: { namespace: props.namespace }, priorityClassName: PRIORITY_CLASS.platform },
          resources: { requests: { ...CERT_MANAGER_REQUESTS.controller } },
          webhook: { resources: { requests: { ...CERT_MANAGER_REQUESTS.webhook } } },
          cainjector: { resources: { requests: { ...CERT_MANAGER_REQUESTS.cainjector } } },
          // The controller's cloud identity (IRSA, GKE or Azure Workload Identity): the chart's
          // `serviceAccount.annotations` and `podLabels` apply to the controller only, the one
          // component that talks to the DNS provider.
          ...(Object.keys(serviceAccountAnnotations).length > 0
            ? { serviceAccount: { annotations: { ...serviceAccountAnnotations } } }
            : {}),
          ...(Object.keys(podLabels).length > 0 ? { podLabels: { ...podLabels } } : {}),
          ...(props.serviceMonitorLabels
            ? { prometheus: { enabled: true, servicemonitor: { enabled: true, labels: { ...props.serviceMonitorLabels } } } }
            : {}),
        },
      });
    }
    if (props.trustManagerVersion !== undefined) {
      this.trustManager = new FluxHelmRelease(this, 'TrustManager', {
        name: 'trust-manager',
        namespace: props.fluxNamespace,
        targetNamespace: props.namespace,
        labels: props.labelsFor('trust-manager'),
        repository: this.repository,
        chart: 'trust-manager',
        version: props.trustManagerVersion,
        values: {
          crds: { enabled: true },
          // Bundle sources of kind Secret are read from this namespace: the private CA is there.
          app: { trust: { namespace: props.namespace } },
          priorityClassName: PRIORITY_CLASS.platform,
          resources: { requests: { ...CERT_MANAGER_REQUESTS.trustManager } },
        },
        dependsOn: this.certManager ? [this.certManager] : [],
      });
    }
  }
}
