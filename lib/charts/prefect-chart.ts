import { Construct } from 'constructs';
import { LayerChart, type LayerChartProps } from './layer-chart';

/** Layer 5: the Prefect services, their routes' backends and per-service policies. */
export class PrefectChart extends LayerChart {
  constructor(scope: Construct, props: LayerChartProps) {
    super(scope, 'prefect', props);
  }
}
