import { Construct } from 'constructs';
import { PrefectNamespace } from '../namespace';
import { LayerChart, type LayerChartProps } from './layer-chart';

/**
 * Layer 1: namespaces, and the Helm releases of the mesh and certificate controllers, which
 * bring the CRDs that every later layer uses.
 */
export class PlatformChart extends LayerChart {
  public readonly prefectNamespace: PrefectNamespace;
  public readonly dataNamespace: PrefectNamespace;

  constructor(scope: Construct, props: LayerChartProps) {
    super(scope, 'platform', props);
    const { namespaces, mesh } = this.config;
    const namespace = (id: string, name: string, options: Omit<ConstructorParameters<typeof PrefectNamespace>[2], 'name' | 'labels'>) =>
      new PrefectNamespace(this, id, { name, labels: this.labelsFor({ name, component: 'namespace' }), ...options });

    this.prefectNamespace = namespace('PrefectNamespace', namespaces.prefect, { sidecarInjection: true });
    this.dataNamespace = namespace('DataNamespace', namespaces.data, { sidecarInjection: true });
    if (mesh.install) {
      // The Istio CNI agent runs privileged in the control plane's namespace.
      namespace('IstioNamespace', namespaces.istio, { podSecurity: 'privileged' });
      // The gateway chart's pods lower the unprivileged port range with a sysctl (baseline allows it).
      namespace('IngressNamespace', namespaces.ingress, { sidecarInjection: true, podSecurity: 'baseline' });
    }
    if (mesh.installCertManager) {
      namespace('CertManagerNamespace', namespaces.certManager, {});
    }
  }
}
