import { Construct } from 'constructs';
import { LayerChart, type LayerChartProps } from './layer-chart';

/** Layer 4: one schema-migration Job per database, applied with `wait` before the services. */
export class MigrationsChart extends LayerChart {
  constructor(scope: Construct, props: LayerChartProps) {
    super(scope, 'migrations', props);
  }
}
