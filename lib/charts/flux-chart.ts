import type { Construct } from 'constructs';
import { FluxLayer } from '../flux/flux-layer';
import { appliedLayersOf, kustomizationName } from '../flux/layers';
import type { LayerHealthChecks } from '../flux/flux-layer';
import type { AppliedLayer } from '../flux/layers';
import { LayerChart, type LayerChartProps } from './layer-chart';

export interface FluxChartProps extends LayerChartProps {
  /** What a layer's Kustomization waits for, where not every object (`wait`), as its chart says. */
  readonly readiness?: Partial<Record<AppliedLayer, LayerHealthChecks>>;
  /** Layers that need more time than flux.timeout (migrations: their deadlines). */
  readonly timeouts?: Partial<Record<AppliedLayer, string>>;
}

/**
 * Layer 6: one Flux `Kustomization` per layer, chained with `dependsOn`, named after the
 * environment and the layer. The cluster's bootstrap Kustomization points at this folder; the
 * source (`GitRepository` or `OCIRepository`) is one that exists already. With SOPS, one more
 * Kustomization applies the folder of encrypted Secrets between the platform and the edge.
 */
export class FluxChart extends LayerChart {
  public readonly layers: readonly FluxLayer[];

  constructor(scope: Construct, props: FluxChartProps) {
    super(scope, 'flux', props);
    const { flux, environment } = this.config;
    const within = (folder: string) => `${flux.path.replace(/\/+$/, '')}/${folder}`;
    const common = {
      namespace: flux.namespace,
      sourceRef: flux.sourceRef,
      interval: flux.interval,
      retryInterval: flux.retryInterval,
      prune: flux.prune,
      deletionPolicy: flux.deletionPolicy,
    };
    const layers: FluxLayer[] = [];
    let previous: FluxLayer | undefined;
    for (const layer of appliedLayersOf(this.config)) {
      const name = kustomizationName(environment, layer);
      const applied = new FluxLayer(this, `${layer}-layer`, {
        ...common,
        name,
        labels: this.labelsFor({ name, component: 'gitops' }),
        path: within(layer),
        timeout: props.timeouts?.[layer] ?? flux.timeout,
        after: previous,
        // A layer given its own readiness (edge: not its Certificate, ACME may take long) waits for that alone.
        ...(props.readiness?.[layer] ? { readiness: props.readiness[layer] } : {}),
      });
      layers.push(applied);
      previous = applied;
      if (layer === 'platform' && flux.sops) {
        // The encrypted Secrets go in once the platform layer has created their namespaces, and
        // before the edge (certificates, DNS solvers) and the data tier read them.
        const secrets = kustomizationName(environment, 'secrets');
        previous = new FluxLayer(this, 'secrets-layer', {
          ...common,
          name: secrets,
          labels: this.labelsFor({ name: secrets, component: 'gitops' }),
          path: flux.sops.path,
          timeout: flux.timeout,
          sopsSecretRef: flux.sops.secretRef,
          after: applied,
        });
      }
    }
    this.layers = layers;
  }
}
