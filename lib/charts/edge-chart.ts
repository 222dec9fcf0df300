import { Construct } from 'constructs';
import { LayerChart, type LayerChartProps } from './layer-chart';

/** Layer 2: issuers, certificates, the Istio Gateway, VirtualServices and mesh-wide policies. */
export class EdgeChart extends LayerChart {
  constructor(scope: Construct, props: LayerChartProps) {
    super(scope, 'edge', props);
  }
}
