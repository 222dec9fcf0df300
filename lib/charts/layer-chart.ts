import { Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/load';
import { type LabelsFor, recommendedLabels } from '../core/labels';
import type { Layer } from '../flux/layers';
import type { Mesh } from '../mesh/identity';

export interface LayerChartProps {
  readonly config: EnvironmentConfig;
}

/**
 * One Flux layer: a chart whose objects land in `dist/<env>/<layer>/`. A chart only creates and
 * connects constructs; it never reads files, the environment or the clock.
 */
export abstract class LayerChart extends Chart {
  public readonly config: EnvironmentConfig;
  /** The mesh, as the constructs of this layer are given it. */
  public readonly mesh: Mesh;
  /**
   * Things an operator must know about this output that are not errors (a private CA that
   * clients outside the cluster must trust, say). `main` prints them; synthesis never logs.
   */
  public readonly warnings: string[] = [];

  protected constructor(
    scope: Construct,
    public readonly layer: Layer,
    props: LayerChartProps,
  ) {
    // Names are a contract: every object sets metadata.name, and no hash is ever appended.
    super(scope, layer, { disableResourceNameHashes: true });
    this.config = props.config;
    this.mesh = {
      istioNamespace: props.config.namespaces.istio,
      trustDomain: props.config.mesh.trustDomain,
      clusterDns: props.config.cluster.dns,
    };
  }

  /** Records a warning for the operator (printed by `main`, never by the chart itself). */
  public warn(message: string): void {
    if (!this.warnings.includes(message)) this.warnings.push(message);
  }

  /** The stable recommended labels for an object of this installation (a workload adds its version). */
  public readonly labelsFor: LabelsFor = (props) => recommendedLabels(this.config.environment, props);
}
