import { Construct } from 'constructs';
import { withVersion } from '../core/labels';
import {
  HelmRelease,
  HelmReleaseSpecChartSpecSourceRefKind,
  HelmReleaseSpecInstallCrds,
  HelmReleaseSpecUpgradeCrds,
} from '../../imports/flux-helm-helm.toolkit.fluxcd.io';
import { HelmRepository, HelmRepositorySpecType } from '../../imports/flux-source-source.toolkit.fluxcd.io';

export interface FluxHelmRepositoryProps {
  readonly name: string;
  /** The Flux namespace, where the repository object lives. */
  readonly namespace: string;
  readonly labels: Record<string, string>;
  /** `https://…` for a classic chart repository, `oci://…` for an OCI registry. */
  readonly url: string;
  /** @default '1h' */
  readonly interval?: string;
}

/** A Helm chart repository that Flux's source-controller indexes. */
export class FluxHelmRepository extends Construct {
  public readonly name: string;
  public readonly namespace: string;
  public readonly resource: HelmRepository;

  constructor(scope: Construct, id: string, props: FluxHelmRepositoryProps) {
    super(scope, id);
    this.name = props.name;
    this.namespace = props.namespace;
    this.resource = new HelmRepository(this, 'Resource', {
      metadata: { name: props.name, namespace: props.namespace, labels: props.labels },
      spec: {
        url: props.url,
        interval: props.interval ?? '1h',
        ...(props.url.startsWith('oci://') ? { type: HelmRepositorySpecType.OCI } : {}),
      },
    });
  }
}

export interface FluxHelmReleaseProps {
  /** The HelmRelease's name, which is also the Helm release name. */
  readonly name: string;
  /** The Flux namespace, where the HelmRelease object lives. */
  readonly namespace: string;
  /** Where the chart's objects are installed (and the Helm release stored). */
  readonly targetNamespace: string;
  readonly labels: Record<string, string>;
  readonly repository: FluxHelmRepository;
  readonly chart: string;
  /** A pinned chart version: never a range, so an upgrade is a reviewed change in Git. */
  readonly version: string;
  /** @default {} */
  readonly values?: Record<string, unknown>;
  /**
   * Releases that must be ready first (e.g. istio-base before istiod).
   * @default []
   */
  readonly dependsOn?: readonly FluxHelmRelease[];
  /** @default '10m' */
  readonly interval?: string;
  /** @default '10m' */
  readonly timeout?: string;
}

/**
 * A Helm chart installed by Flux's helm-controller, with remediation: a failed install is
 * retried, a failed upgrade is rolled back and retried, and CRDs are created and updated.
 */
export class FluxHelmRelease extends Construct {
  public readonly name: string;
  public readonly namespace: string;
  public readonly resource: HelmRelease;

  constructor(scope: Construct, id: string, props: FluxHelmReleaseProps) {
    super(scope, id);
    if (!/^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/.test(props.version)) {
      throw new Error(`HelmRelease ${props.name}: chart version must be pinned (such as "1.30.3"), got ${JSON.stringify(props.version)}`);
    }
    this.name = props.name;
    this.namespace = props.namespace;
    const dependsOn = (props.dependsOn ?? []).map((release) => ({ name: release.name, namespace: release.namespace }));
    this.resource = new HelmRelease(this, 'Resource', {
      metadata: { name: props.name, namespace: props.namespace, labels: withVersion(props.labels, props.version) },
      spec: {
        interval: props.interval ?? '10m',
        timeout: props.timeout ?? '10m',
        releaseName: props.name,
        targetNamespace: props.targetNamespace,
        storageNamespace: props.targetNamespace,
        chart: {
          spec: {
            chart: props.chart,
            version: props.version,
            sourceRef: {
              kind: HelmReleaseSpecChartSpecSourceRefKind.HELM_REPOSITORY,
              name: props.repository.name,
              namespace: props.repository.namespace,
            },
            interval: '1h',
          },
        },
        install: { crds: HelmReleaseSpecInstallCrds.CREATE_REPLACE, remediation: { retries: 3 } },
        upgrade: {
          crds: HelmReleaseSpecUpgradeCrds.CREATE_REPLACE,
          cleanupOnFail: true,
          remediation: { retries: 3, remediateLastFailure: true },
        },
        ...(dependsOn.length > 0 ? { dependsOn } : {}),
        values: props.values ?? {},
      },
    });
  }
}
