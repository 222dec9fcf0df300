import { App } from 'cdk8s';
import type { EnvironmentConfig } from './config/load';
import { DataChart } from './charts/data-chart';
import { EdgeChart } from './charts/edge-chart';
import { FluxChart } from './charts/flux-chart';
import type { LayerChart } from './charts/layer-chart';
import { MigrationsChart } from './charts/migrations-chart';
import { PlatformChart } from './charts/platform-chart';
import { PrefectChart } from './charts/prefect-chart';

/** One environment's installation: one cdk8s `App`, one chart per Flux layer. */
export class PrefectApp extends App {
  public readonly layers: readonly LayerChart[];

  constructor(public readonly config: EnvironmentConfig) {
    // Never synthesized by cdk8s itself (see lib/output): the outdir is not written to.
    super({ outdir: '.cdk8s.out' });
    const props = { config };
    this.layers = [
      new PlatformChart(this, props),
      new EdgeChart(this, props),
      new DataChart(this, props),
      new MigrationsChart(this, props),
      new PrefectChart(this, props),
      new FluxChart(this, props),
    ];
  }
}
