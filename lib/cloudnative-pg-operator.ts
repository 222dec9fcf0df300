import { Construct } from 'constructs';
import type { LayerChart } from './charts/layer-chart';
import { FluxHelmRelease, FluxHelmRepository } from './helm-release';
import { PrefectNamespace } from './namespace';

/** Where the CloudNativePG operator runs; the database pods admit it (lib/cloudnative-pg.ts). */
export const CLOUDNATIVE_PG_NAMESPACE = 'cnpg-system';

/** The operator's requests, set explicitly (the chart sets none) and counted by the capacity check. */
export const CLOUDNATIVE_PG_OPERATOR_REQUESTS = { cpu: '100m', memory: '256Mi' } as const;

export interface CloudNativePgOperatorProps {
  /** The Flux namespace (repository and release objects). */
  readonly fluxNamespace: string;
  /** The `cloudnative-pg` chart's version. */
  readonly version: string;
  readonly labelsFor: LayerChart['labelsFor'];
}

/**
 * The CloudNativePG operator and its CRDs, installed by Flux from the project's chart
 * repository, in its own namespace (restricted Pod Security, out of the mesh: it talks to the
 * database pods' status port and to the API server).
 */
export class CloudNativePgOperator extends Construct {
  public readonly release: FluxHelmRelease;

  constructor(scope: Construct, id: string, props: CloudNativePgOperatorProps) {
    super(scope, id);
    const labels = props.labelsFor({ name: 'cloudnative-pg', component: 'operator', version: props.version });
    new PrefectNamespace(this, 'Namespace', { name: CLOUDNATIVE_PG_NAMESPACE, labels: props.labelsFor({ name: CLOUDNATIVE_PG_NAMESPACE, component: 'namespace' }) });
    const repository = new FluxHelmRepository(this, 'Repository', {
      name: 'cloudnative-pg',
      namespace: props.fluxNamespace,
      labels,
      url: 'https://cloudnative-pg.github.io/charts',
    });
    this.release = new FluxHelmRelease(this, 'Release', {
      name: 'cloudnative-pg',
      namespace: props.fluxNamespace,
      targetNamespace: CLOUDNATIVE_PG_NAMESPACE,
      labels,
      repository,
      chart: 'cloudnative-pg',
      version: props.version,
      values: {
        crds: { create: true },
        config: { clusterWide: true },
        resources: { requests: CLOUDNATIVE_PG_OPERATOR_REQUESTS, limits: { memory: '512Mi' } },
      },
    });
  }
}
