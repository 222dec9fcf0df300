import type { Construct } from 'constructs';
import { databasesOf } from '../catalog/services';
import { LABEL } from '../core/labels';
import { longestCronGapSeconds } from '../core/cron';
import { CLOUDNATIVE_PG_METRICS_PORT, CloudNativePostgres } from '../data/postgres/cloudnative-pg';
import { Postgres } from '../data/postgres/postgres';
import { DOCUMENTED_FLAGS } from '../data/postgres/postgres-config';
import { Redis } from '../data/redis/redis';
import { alertGroups, type AlertGroup, type MonitoredInstallation } from '../monitoring/alert-rules';
import { PrefectAlertRules } from '../monitoring/prometheus-rules';
import { CloudNativePgPodMonitor, IstiodServiceMonitor, MeshPodMonitor, PrometheusScrapeAccess } from '../monitoring/scrape-targets';
import type { PrefectService } from '../prefect/prefect-service';
import type { DataChart } from './data-chart';
import type { EdgeChart } from './edge-chart';
import { LayerChart, type LayerChartProps } from './layer-chart';

export interface MonitoringChartProps extends LayerChartProps {
  readonly data: DataChart;
  readonly edge: EdgeChart;
  readonly services: readonly PrefectService[];
}

/** Hours a backup may take beyond its schedule before the missing-backup alert fires. */
const BACKUP_SLACK_SECONDS = 6 * 3600;

/**
 * The monitoring layer (after prefect, so that a cluster without the Prometheus Operator's CRDs fails here and
 * nowhere else): with `monitoring.enabled`, the PodMonitors of the mesh's pods in the installation's
 * namespaces and of the gateway, CloudNativePG's instances, istiod's ServiceMonitor, the
 * NetworkPolicies that let Prometheus scrape, and the alert rules. Only with monitoring enabled: no layer otherwise.
 */
export class MonitoringChart extends LayerChart {
  /** The alert groups, for the README's runbooks. */
  public readonly alertGroups: readonly AlertGroup[];
  /** With CloudNativePG: how its instances are scraped, for the README. */
  public readonly cloudnativePg?: { readonly podMonitor: string; readonly networkPolicy: string };

  constructor(scope: Construct, props: MonitoringChartProps) {
    super(scope, 'monitoring', props);
    const { monitoring, namespaces, environment } = this.config;
    const labels = (name: string) => ({ ...this.labelsFor({ name, component: 'monitoring' }), ...monitoring.labels });
    const instance = this.labelsFor({ name: 'any', component: 'any' })[LABEL.instance] as string;

    for (const namespace of [namespaces.prefect, namespaces.data]) {
      new MeshPodMonitor(this, `Pods-${namespace}`, { namespace, labels: labels('mesh-pods'), selector: { [LABEL.instance]: instance } });
      new PrometheusScrapeAccess(this, `Scrape-${namespace}`, {
        namespace,
        labels: labels('prometheus-scrape'),
        prometheus: monitoring.prometheus,
      });
    }
    // The gateway's pods, by the labels its Gateway binds to; istiod, the chart's or your mesh's.
    new MeshPodMonitor(this, 'Pods-gateway', {
      namespace: namespaces.ingress,
      labels: labels('mesh-pods'),
      selector: this.config.mesh.gatewaySelector,
    });
    new IstiodServiceMonitor(this, 'Istiod', { namespace: namespaces.istio, labels: labels('istiod') });

    const { data, edge, services } = props;
    const postgres = data.postgres instanceof Postgres ? data.postgres : undefined;
    const cnpg = data.postgres instanceof CloudNativePostgres ? data.postgres : undefined;
    if (cnpg) {
      const podMonitor = new CloudNativePgPodMonitor(this, 'Pods-cloudnative-pg', {
        namespace: namespaces.data,
        labels: labels(`${cnpg.name}-instances`),
        cluster: cnpg.name,
        tls: { caSecret: cnpg.caSecret, serverName: cnpg.serverName },
      });
      const access = new PrometheusScrapeAccess(this, 'Scrape-cloudnative-pg', {
        name: `prometheus-scrape-${cnpg.name}`,
        namespace: namespaces.data,
        labels: labels(`prometheus-scrape-${cnpg.name}`),
        prometheus: monitoring.prometheus,
        podSelector: { 'cnpg.io/cluster': cnpg.name },
        port: CLOUDNATIVE_PG_METRICS_PORT,
      });
      this.cloudnativePg = { podMonitor: podMonitor.name, networkPolicy: access.name };
    }
    const cnpgBackupGap = cnpg?.backedUp ? longestCronGapSeconds(this.config.postgres.backup?.schedule ?? '', true) : undefined;
    const redis = Object.values(data.redis).filter((server): server is Redis => server instanceof Redis);
    const statefulVolumes = [
      ...(postgres ? [`data-${postgres.name}-0`] : []),
      ...redis.filter((server) => server.workload.kind === 'StatefulSet').map((server) => `data-${server.name}-0`),
    ];
    const backup = data.logicalBackup;
    const backupGap = backup ? longestCronGapSeconds(this.config.postgres.logicalBackup?.schedule ?? '') : undefined;
    const databases = [...databasesOf(this.config.edition)];
    const vacuumScaleFactor = Number(DOCUMENTED_FLAGS.autovacuum_vacuum_scale_factor);
    const installation: MonitoredInstallation = {
      environment,
      namespaces: { prefect: namespaces.prefect, data: namespaces.data, ingress: namespaces.ingress },
      ...(postgres && data.maxConnections !== undefined
        ? {
            postgres: {
              workload: postgres.name,
              maxConnections: data.maxConnections,
              databases,
              vacuumScaleFactor,
            },
          }
        : {}),
      ...(cnpg && data.maxConnections !== undefined
        ? {
            cloudnativePg: {
              cluster: cnpg.name,
              instances: cnpg.instances,
              maxConnections: data.maxConnections,
              databases,
              vacuumScaleFactor,
              ...(cnpg.backedUp
                ? { backup: cnpgBackupGap !== undefined ? { maxAgeSeconds: cnpgBackupGap + BACKUP_SLACK_SECONDS } : {} }
                : {}),
            },
          }
        : {}),
      redis: redis.map((server) => ({
        workload: server.name,
        persistent: server.workload.kind === 'StatefulSet',
        streams: server.streams !== undefined,
      })),
      volumes: [...statefulVolumes, ...(backup ? [backup.claimName] : [])],
      // CloudNativePG names an instance's claim after the instance, "<cluster>-<serial>".
      ...(cnpg ? { volumePatterns: [`${cnpg.name}-[0-9]+`] } : {}),
      webServices: services
        .filter((service) => service.definition.type === 'web' && service.definition.metrics)
        .map((service) => service.name),
      loops: services.filter((service) => service.workloadKind === 'StatefulSet').map((service) => service.name),
      migrated: databases,
      ...(backup && backupGap !== undefined
        ? { backup: { cronJob: backup.claimName, maxAgeSeconds: backupGap + BACKUP_SLACK_SECONDS } }
        : {}),
      ...(edge.certificate ? { certificate: { name: edge.certificate.secretName, namespace: namespaces.ingress } } : {}),
    };
    this.alertGroups = alertGroups(installation);
    new PrefectAlertRules(this, 'AlertRules', {
      name: 'prefect-alerts',
      namespace: namespaces.prefect,
      labels: labels('prefect-alerts'),
      environment,
      groups: this.alertGroups,
      runbookUrl: monitoring.runbookUrl ?? `dist/${environment}/README.md`,
    });
  }
}
