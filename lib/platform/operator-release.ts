import { Construct } from 'constructs';
import type { LabelsFor } from '../core/labels';
import { FluxHelmRelease, FluxHelmRepository } from '../flux/helm-release';
import { PrefectNamespace } from './namespace';

export interface OperatorReleaseProps {
  /** The release's, its chart repository's and its labels' name, e.g. "cloudnative-pg". */
  readonly name: string;
  /** The operator's own namespace (restricted Pod Security, out of the mesh). */
  readonly namespace: string;
  /** The Flux namespace (repository and release objects). */
  readonly fluxNamespace: string;
  /** The chart repository's URL. */
  readonly url: string;
  readonly chart: string;
  /** The chart's pinned version. */
  readonly version: string;
  readonly values: Record<string, unknown>;
  readonly labelsFor: LabelsFor;
  /**
   * Releases installed first.
   * @default - none
   */
  readonly dependsOn?: readonly FluxHelmRelease[];
}

/** What differs per environment: where Flux's objects live, the chart's version, the labels. */
export type OperatorInstallProps = Pick<OperatorReleaseProps, 'fluxNamespace' | 'version' | 'labelsFor'>;

/**
 * An operator and its CRDs, installed by Flux from the project's chart repository into a
 * namespace of its own: the namespace, the HelmRepository and the HelmRelease.
 */
export class OperatorRelease extends Construct {
  public readonly release: FluxHelmRelease;
  /** The chart repository, for other charts of the same project. */
  public readonly repository: FluxHelmRepository;

  constructor(scope: Construct, id: string, props: OperatorReleaseProps) {
    super(scope, id);
    const labels = props.labelsFor({ name: props.name, component: 'operator' });
    new PrefectNamespace(this, 'Namespace', {
      name: props.namespace,
      labels: props.labelsFor({ name: props.namespace, component: 'namespace' }),
    });
    const repository = new FluxHelmRepository(this, 'Repository', {
      name: props.name,
      namespace: props.fluxNamespace,
      labels,
      url: props.url,
    });
    this.release = new FluxHelmRelease(this, 'Release', {
      name: props.name,
      namespace: props.fluxNamespace,
      targetNamespace: props.namespace,
      labels,
      repository,
      chart: props.chart,
      version: props.version,
      values: props.values,
      ...(props.dependsOn ? { dependsOn: props.dependsOn } : {}),
    });
    this.repository = repository;
  }
}
