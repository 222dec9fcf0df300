import { App } from 'cdk8s';
import type { WorkloadDemand } from '../core/kubernetes-object';
import type { EnvironmentConfig } from '../config/load';
import { DataChart } from '../charts/data-chart';
import { EdgeChart } from '../charts/edge-chart';
import { FluxChart } from '../charts/flux-chart';
import type { LayerChart } from '../charts/layer-chart';
import { MigrationsChart } from '../charts/migrations-chart';
import { MonitoringChart } from '../charts/monitoring-chart';
import { PlatformChart } from '../charts/platform-chart';
import { PrefectChart } from '../charts/prefect-chart';
import { edgeControllerWorkloads } from '../platform/controller-workloads';
import { resolveCatalog, type ResolvedService } from '../prefect/service-catalog';

/** One environment's installation: one cdk8s `App`, one chart per Flux layer. */
export class PrefectApp extends App {
  public readonly layers: readonly LayerChart[];
  public readonly edge: EdgeChart;
  public readonly data: DataChart;
  public readonly prefect: PrefectChart;
  /** With monitoring.enabled only: its layer. */
  public readonly monitoring?: MonitoringChart;
  /** The service catalog with the configuration's overrides, resolved once for every layer. */
  public readonly catalog: readonly ResolvedService[];

  constructor(public readonly config: EnvironmentConfig) {
    // Never synthesized by cdk8s itself (see lib/output): the outdir is not written to.
    super({ outdir: '.cdk8s.out' });
    const props = { config };
    this.catalog = resolveCatalog(config);
    const platform = new PlatformChart(this, props);
    this.edge = new EdgeChart(this, { config, catalog: this.catalog });
    this.data = new DataChart(this, { config, catalog: this.catalog });
    const migrations = new MigrationsChart(this, {
      config,
      postgres: this.data.postgres,
      secrets: this.data.secrets,
      redis: this.data.redis,
    });
    this.prefect = new PrefectChart(this, {
      config,
      catalog: this.catalog,
      data: this.data,
      gateway: this.edge.gateway.client,
      trustBundle: this.edge.trustBundle,
    });
    if (config.monitoring.enabled) {
      this.monitoring = new MonitoringChart(this, { config, data: this.data, edge: this.edge, services: this.prefect.services });
    }
    this.layers = [
      platform,
      this.edge,
      this.data,
      migrations,
      this.prefect,
      ...(this.monitoring ? [this.monitoring] : []),
      new FluxChart(this, {
        config,
        readiness: { edge: this.edge.readiness, migrations: migrations.readiness },
        timeouts: { migrations: migrations.layerTimeout },
      }),
    ];
  }

  /** Pods that the platform layer's Helm releases run (not objects of dist/), for the capacity check. */
  public get platformWorkloads(): WorkloadDemand[] {
    return edgeControllerWorkloads(this.config);
  }
}
