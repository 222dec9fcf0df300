import type { Construct } from 'constructs';
import type { FluxHelmRelease } from '../flux/helm-release';
import { CertManagerReleases } from '../platform/cert-manager-releases';
import { CloudNativePgOperator } from '../platform/cloudnative-pg-operator';
import { ExternalSecretsOperator } from '../platform/external-secrets-operator';
import { KedaOperator } from '../platform/keda-operator';
import { sidecarAnnotations } from '../mesh/sidecar';
import { INGRESS_GATEWAY_NAME, IngressGatewayRelease } from '../edge/ingress-gateway-release';
import { solvesHttp01 } from '../edge/tls/issuers';
import { istiodReplicas } from '../platform/controller-workloads';
import { IstioControlPlane } from '../platform/istio-control-plane';
import { gatewayExposure } from '../edge/load-balancer';
import { PrefectNamespace } from '../platform/namespace';
import { PrefectPriorityClasses } from '../platform/priority-classes';
import { DEFAULT_DENY_POLICY_NAME, NamespaceDefaultDeny } from '../mesh/namespace-default-deny';
import { LayerChart, type LayerChartProps } from './layer-chart';

/**
 * Layer 1: namespaces, and the Helm releases of the mesh and certificate controllers, which
 * bring the CRDs that every later layer uses.
 */
export class PlatformChart extends LayerChart {
  public readonly prefectNamespace: PrefectNamespace;
  public readonly dataNamespace: PrefectNamespace;
  private certManager?: CertManagerReleases;
  private istiod?: FluxHelmRelease;

  constructor(scope: Construct, props: LayerChartProps) {
    super(scope, 'platform', props);
    const { namespaces, mesh } = this.config;
    const namespace = (id: string, name: string, options: Omit<ConstructorParameters<typeof PrefectNamespace>[2], 'name' | 'labels'>) =>
      new PrefectNamespace(this, id, { name, labels: this.labelsFor({ name, component: 'namespace' }), ...options });

    this.prefectNamespace = namespace('PrefectNamespace', namespaces.prefect, { sidecarInjection: true });
    this.dataNamespace = namespace('DataNamespace', namespaces.data, { sidecarInjection: true });
    // Closed unless opened: a pod there that no workload policy selects gets no traffic at all.
    for (const [id, name] of [
      ['PrefectDefaultDeny', namespaces.prefect],
      ['DataDefaultDeny', namespaces.data],
    ] as const) {
      new NamespaceDefaultDeny(this, id, {
        namespace: name,
        labels: this.labelsFor({ name: DEFAULT_DENY_POLICY_NAME, component: 'network-policy' }),
      });
    }
    if (mesh.install) {
      // The Istio CNI agent runs privileged in the control plane's namespace.
      namespace('IstioNamespace', namespaces.istio, { podSecurity: 'privileged' });
      // The gateway chart's pods lower the unprivileged port range with a sysctl (baseline allows it).
      namespace('IngressNamespace', namespaces.ingress, { sidecarInjection: true, podSecurity: 'baseline' });
    }
    if (mesh.installCertManager) {
      namespace('CertManagerNamespace', namespaces.certManager, {});
    }

    // ---- Edge controllers: Istio, its ingress gateway, cert-manager, trust-manager ----
    this.addEdgeControllers();

    // ---- Data operators: CloudNativePG, External Secrets ----
    this.addDataOperators();

    // ---- Scheduling: the data tier before the services ----
    new PrefectPriorityClasses(this, 'PriorityClasses', { labelsFor: this.labelsFor.bind(this) });
  }

  /** The operators the data layer's providers need, when configured (lib/charts/data-chart.ts). */
  private addDataOperators(): void {
    const { postgres, secrets, mesh, flux } = this.config;
    const labelsFor = this.labelsFor.bind(this);
    if (postgres.provider === 'cloudnativepg') {
      const certManager = this.certManager?.certManager;
      new CloudNativePgOperator(this, 'CloudNativePgOperator', {
        fluxNamespace: flux.namespace,
        version: mesh.versions.cloudnativePg,
        labelsFor,
        ...(postgres.backup
          ? { barmanCloudPlugin: { version: mesh.versions.barmanCloudPlugin, after: certManager ? [certManager] : [] } }
          : {}),
      });
    }
    if (this.config.autoscaling.backlog && this.config.autoscaling.installKeda) {
      new KedaOperator(this, 'KedaOperator', {
        fluxNamespace: flux.namespace,
        version: mesh.versions.keda,
        labelsFor,
        operatorPodAnnotations: sidecarAnnotations(5),
        ...(this.istiod ? { istiod: this.istiod } : {}),
      });
    }
    if (secrets.provider === 'external-secrets') {
      new ExternalSecretsOperator(this, 'ExternalSecretsOperator', {
        fluxNamespace: flux.namespace,
        version: mesh.versions.externalSecrets,
        labelsFor,
      });
    }
  }

  /** Flux HelmReleases of the mesh and certificate controllers, each switchable off. */
  private addEdgeControllers(): void {
    const { namespaces, mesh, flux, loadBalancer, hostnames, cluster } = this.config;
    const release = (name: string) => this.labelsFor({ name, component: 'controller' });
    if (mesh.install) {
      const gatewayName = INGRESS_GATEWAY_NAME;
      const controlPlane = new IstioControlPlane(this, 'IstioControlPlane', {
        fluxNamespace: flux.namespace,
        namespace: namespaces.istio,
        version: mesh.versions.istio,
        platform: mesh.platform,
        // The chart derives the `istio` label from the release name unless the selector sets it.
        ingressGatewayLabel: mesh.gatewaySelector.istio ?? gatewayName.replace(/^istio-/, ''),
        ingressGatewayService: gatewayName,
        // cert-manager's HTTP-01 solver creates Ingress objects of class "istio"; istiod serves
        // them on the gateway below (meshConfig.ingressSelector).
        ingressClass: solvesHttp01(this.config),
        trustDomain: mesh.trustDomain,
        labelsFor: release,
        istiodReplicas: istiodReplicas(this.config),
      });
      this.istiod = controlPlane.istiod;
      new IngressGatewayRelease(this, 'IngressGateway', {
        name: gatewayName,
        fluxNamespace: flux.namespace,
        namespace: namespaces.ingress,
        repository: controlPlane.repository,
        version: mesh.versions.istio,
        dependsOn: [controlPlane.cni],
        labels: release(gatewayName),
        selector: mesh.gatewaySelector,
        serviceAccountName: mesh.gatewayServiceAccount,
        replicas: mesh.gateway.replicas,
        maxReplicas: mesh.gateway.maxReplicas,
        resources: mesh.gateway.resources,
        multiZone: cluster.zones.length > 1,
        exposure: gatewayExposure({
          ...loadBalancer,
          externalDnsHostnames: loadBalancer.externalDns ? [hostnames.api, hostnames.app] : [],
        }),
        platform: mesh.platform,
      });
    }
    if (mesh.installCertManager || mesh.installTrustManager) {
      this.certManager = new CertManagerReleases(this, 'CertManager', {
        fluxNamespace: flux.namespace,
        namespace: namespaces.certManager,
        certManagerVersion: mesh.installCertManager ? mesh.versions.certManager : undefined,
        trustManagerVersion: mesh.installTrustManager ? mesh.versions.trustManager : undefined,
        serviceAccountAnnotations: mesh.certManager.serviceAccountAnnotations,
        podLabels: mesh.certManager.podLabels,
        ...(this.config.monitoring.enabled ? { serviceMonitorLabels: this.config.monitoring.labels } : {}),
        labelsFor: release,
      });
    }
  }
}
