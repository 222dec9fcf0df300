import { PRIORITY_CLASS } from './priority-classes';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { FluxHelmRelease, FluxHelmRepository } from '../flux/helm-release';
import { DEFAULT_TRUST_DOMAIN } from '../mesh/identity';

/** Istio's Helm chart repository. */
export const ISTIO_CHART_REPOSITORY = 'https://istio-release.storage.googleapis.com/charts';

/** The class of the Kubernetes Ingress objects that istiod serves on the ingress gateway. */
export const ISTIO_INGRESS_CLASS = 'istio';

export interface IstioControlPlaneProps {
  /** Where the HelmRepository and HelmRelease objects live. */
  readonly fluxNamespace: string;
  /** Where istiod and the CNI agent run (a namespace that allows privileged pods). */
  readonly namespace: string;
  /** A pinned Istio version: the charts are versioned with Istio itself. */
  readonly version: string;
  /**
   * Istio's platform profile (`global.platform`), for clusters with non-standard CNI paths.
   * @default - none
   */
  readonly platform?: string;
  /**
   * The `istio` pod label of the gateway that serves Kubernetes Ingress objects of class
   * "istio" (cert-manager's HTTP-01 solver creates one per challenge).
   * @default 'ingressgateway'
   */
  readonly ingressGatewayLabel?: string;
  /** The ingress gateway's Service, named in the status of those Ingress objects. */
  readonly ingressGatewayService: string;
  /**
   * Create the IngressClass "istio" for those Ingress objects: needed by ACME HTTP-01 only.
   * @default false
   */
  readonly ingressClass?: boolean;
  /**
   * The mesh's trust domain (`meshConfig.trustDomain`): the first part of every workload's
   * SPIFFE identity, which AuthorizationPolicies name.
   * @default 'cluster.local'
   */
  readonly trustDomain?: string;
  /** Recommended labels for an object named `name`. */
  readonly labelsFor: (name: string) => Record<string, string>;
  /** istiod's replicas: its autoscaler's minimum (the chart adds a PodDisruptionBudget from two on). */
  readonly istiodReplicas: number;
}

/**
 * The Istio control plane, installed by Flux: istio-base (CRDs, validation), istiod, and the
 * istio-cni node agent, in that order.
 *
 * The CNI agent is not optional here: the Prefect and data namespaces enforce Pod Security
 * "restricted", which rejects the `istio-init` container (NET_ADMIN, NET_RAW) that sidecar
 * injection adds otherwise. With `cni.enabled` istiod injects the unprivileged
 * `istio-validation` container instead, and the privilege moves to one DaemonSet in the
 * (privileged) control plane namespace.
 */
export class IstioControlPlane extends Construct {
  public readonly repository: FluxHelmRepository;
  public readonly base: FluxHelmRelease;
  public readonly istiod: FluxHelmRelease;
  public readonly cni: FluxHelmRelease;
  /** The IngressClass "istio", when requested. */
  public readonly ingressClass?: k8s.KubeIngressClass;

  constructor(scope: Construct, id: string, props: IstioControlPlaneProps) {
    super(scope, id);
    const trustDomain = props.trustDomain ?? DEFAULT_TRUST_DOMAIN;
    const global = props.platform ? { global: { platform: props.platform } } : {};
    const release = (releaseId: string, name: string, chart: string, values: Record<string, unknown>, dependsOn: FluxHelmRelease[]) =>
      new FluxHelmRelease(this, releaseId, {
        name,
        namespace: props.fluxNamespace,
        targetNamespace: props.namespace,
        labels: props.labelsFor(name),
        repository: this.repository,
        chart,
        version: props.version,
        values,
        dependsOn,
      });

    this.repository = new FluxHelmRepository(this, 'Repository', {
      name: 'istio',
      namespace: props.fluxNamespace,
      labels: props.labelsFor('istio'),
      url: ISTIO_CHART_REPOSITORY,
    });
    // The default revision's validating webhook checks every Istio object that later layers apply.
    this.base = release('Base', 'istio-base', 'base', { ...global, defaultRevision: 'default' }, []);
    this.istiod = release(
      'Istiod',
      'istiod',
      'istiod',
      {
        // Above the data tier and the services: while istiod is gone, no pod starts in the mesh.
        global: { ...global.global, priorityClassName: PRIORITY_CLASS.platform },
        // The istiod chart reads these at its top level (its values.yaml nests its defaults under
        // `_internal_defaults_do_not_set` and merges what is given over them): a `pilot:` key, as
        // older charts had it, is ignored. The injection template's `.Values.pilot.cni` is
        // picked from the top-level `cni` (templates/istiod-injector-configmap.yaml).
        cni: { enabled: true },
        autoscaleMin: props.istiodReplicas,
        replicaCount: props.istiodReplicas,
        meshConfig: {
          trustDomain,
          // cert-manager's HTTP-01 solver publishes each challenge as an Ingress of class
          // "istio"; istiod turns it into routes on the gateway with this `istio` label.
          ingressClass: ISTIO_INGRESS_CLASS,
          ingressControllerMode: 'STRICT',
          ingressSelector: props.ingressGatewayLabel ?? 'ingressgateway',
          ingressService: props.ingressGatewayService,
        },
      },
      [this.base],
    );
    this.cni = release('Cni', 'istio-cni', 'cni', { ...global }, [this.istiod]);
    if (props.ingressClass) {
      this.ingressClass = new k8s.KubeIngressClass(this, 'IngressClass', {
        metadata: { name: ISTIO_INGRESS_CLASS, labels: props.labelsFor(ISTIO_INGRESS_CLASS) },
        spec: { controller: 'istio.io/ingress-controller' },
      });
    }
  }
}
