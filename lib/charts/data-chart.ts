import { Construct } from 'constructs';
import { LayerChart, type LayerChartProps } from './layer-chart';

/** Layer 3: PostgreSQL, its init Jobs, the three Redis instances and secret references. */
export class DataChart extends LayerChart {
  constructor(scope: Construct, props: LayerChartProps) {
    super(scope, 'data', props);
  }
}
