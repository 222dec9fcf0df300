import type { Construct } from 'constructs';
import { FluxLayer } from '../flux/flux-layer';
import { APPLIED_LAYERS } from '../flux/layers';
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
 * Layer 6: one Flux `Kustomization` per layer, chained with `dependsOn`. The cluster's bootstrap
 * Kustomization points at this folder; the `GitRepository` is the one bootstrap created.
 */
export class FluxChart extends LayerChart {
  public readonly layers: readonly FluxLayer[];

  constructor(scope: Construct, props: FluxChartProps) {
    super(scope, 'flux', props);
    const { flux } = this.config;
    const layers: FluxLayer[] = [];
    for (const layer of APPLIED_LAYERS) {
      const name = `prefect-${layer}`;
      layers.push(
        new FluxLayer(this, `${layer}-layer`, {
          name,
          namespace: flux.namespace,
          labels: this.labelsFor({ name, component: 'gitops' }),
          path: `${flux.path}/${layer}`,
          sourceRef: flux.sourceRef,
          interval: flux.interval,
          retryInterval: flux.retryInterval,
          timeout: props.timeouts?.[layer] ?? flux.timeout,
          prune: flux.prune,
          after: layers[layers.length - 1],
          // A layer given its own readiness (edge: not its Certificate, ACME may take long) waits for that alone.
          ...(props.readiness?.[layer] ? { readiness: props.readiness[layer] } : {}),
        }),
      );
    }
    this.layers = layers;
  }
}
