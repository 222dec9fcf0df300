import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { metricsRead } from '../../lib/monitoring/alert-rules';
import type { RenderedEnvironment } from '../../lib/output/render';
import { buildVariant, VARIANTS } from '../config-variants';
import { build, findObject } from '../helpers';
import { runTool } from '../real-tools/tools';

/*
 * The alert rules of prod (monitoring.enabled), with the StatefulSet provider and with
 * CloudNativePG, through promtool, Prometheus's own checker and evaluator: `promtool check rules`
 * parses and lints every expression, and `promtool test rules` evaluates each alert over series
 * that describe its fault (it must fire, with these labels) and over healthy ones (it must not).
 * A rule without a case here fails the suite.
 */

interface Rule {
  readonly alert: string;
  readonly expr: string;
  readonly for?: string;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}

const rendered = build('prod');
const cloudnative = buildVariant('prod', VARIANTS.cloudnativePg);

const data = { namespace: 'prefect-data' };
const maxConnections = Number(
  /^max_connections = (\d+)$/m.exec(
    (findObject(rendered, 'ConfigMap', 'postgres-config', 'prefect-data') as unknown as { data: Record<string, string> }).data[
      'postgresql.conf'
    ] as string,
  )?.[1],
);
const cnpgMaxConnections = Number(
  (findObject(cloudnative, 'Cluster', 'postgres', 'prefect-data').spec as { postgresql: { parameters: Record<string, string> } }).postgresql
    .parameters.max_connections,
);
const pg = { ...data, workload: 'postgres' };
const series = (labels: Record<string, string>, name: string) =>
  `${name}{${Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .join(',')}}`;

interface Case {
  /** Series (promtool's expanding notation) under which the alert fires, and the alert's labels. */
  readonly firing: Record<string, string>;
  readonly labels: Record<string, string>;
  /** Healthy series: no alert. */
  readonly healthy: Record<string, string>;
  /** When to evaluate (promtool duration); the series' step is `interval`. */
  readonly at: string;
  readonly interval?: string;
}

const table = (name: string) => ({ ...pg, datname: 'events', schemaname: 'public', relname: name, server: '/var/run/postgresql:5432' });
const stream = { namespace: 'prefect-data', workload: 'redis-streams', db: 'db0', stream: 'events', group: 'event-persister' };
const web = { reporter: 'destination', destination_workload_namespace: 'prefect', destination_workload: 'server' };

const CASES: Record<string, Case> = {
  PrefectPostgresDown: { firing: { [series(pg, 'pg_up')]: '0x20' }, labels: pg, healthy: { [series(pg, 'pg_up')]: '1x20' }, at: '10m' },
  PrefectPostgresConnectionsHigh: {
    firing: { [series({ ...pg, datname: 'orion', state: 'active' }, 'pg_stat_activity_count')]: `${maxConnections}x30` },
    labels: {},
    healthy: { [series({ ...pg, datname: 'orion', state: 'active' }, 'pg_stat_activity_count')]: '5x30' },
    at: '20m',
  },
  PrefectPostgresExclusiveLockHeld: {
    firing: { [series({ ...pg, datname: 'events', mode: 'accessexclusivelock' }, 'pg_locks_count')]: '1x30' },
    labels: { datname: 'events' },
    healthy: { [series({ ...pg, datname: 'events', mode: 'accessexclusivelock' }, 'pg_locks_count')]: '0x30' },
    at: '20m',
  },
  PrefectPostgresDeadlocks: {
    firing: { [series({ ...pg, datname: 'orion' }, 'pg_stat_database_deadlocks')]: '0+1x30' },
    labels: { ...pg, datname: 'orion' },
    healthy: { [series({ ...pg, datname: 'orion' }, 'pg_stat_database_deadlocks')]: '3x30' },
    at: '20m',
  },
  PrefectPostgresTableBloat: {
    firing: {
      [series(table('event_resources'), 'pg_table_maintenance_dead_rows')]: '50000x100',
      [series(table('event_resources'), 'pg_table_maintenance_live_rows')]: '1000x100',
    },
    labels: table('event_resources'),
    healthy: {
      [series(table('event_resources'), 'pg_table_maintenance_dead_rows')]: '50000x100',
      [series(table('event_resources'), 'pg_table_maintenance_live_rows')]: '900000x100',
    },
    at: '90m',
  },
  PrefectPostgresAutovacuumStale: {
    firing: {
      [series(table('events'), 'pg_table_maintenance_seconds_since_vacuum')]: '100000+60x100',
      [series(table('events'), 'pg_table_maintenance_dead_rows')]: '5000x100',
      [series(table('events'), 'pg_table_maintenance_live_rows')]: '1000x100',
    },
    labels: table('events'),
    healthy: {
      [series(table('events'), 'pg_table_maintenance_seconds_since_vacuum')]: '600x100',
      [series(table('events'), 'pg_table_maintenance_dead_rows')]: '5000x100',
      [series(table('events'), 'pg_table_maintenance_live_rows')]: '1000x100',
    },
    at: '90m',
  },
  PrefectRedisDown: {
    firing: { [series({ ...data, workload: 'redis-work' }, 'redis_up')]: '0x20' },
    labels: { ...data, workload: 'redis-work' },
    healthy: { [series({ ...data, workload: 'redis-work' }, 'redis_up')]: '1x20' },
    at: '10m',
  },
  PrefectRedisCpuHigh: {
    firing: {
      [series({ ...data, workload: 'redis-streams' }, 'redis_cpu_sys_seconds_total')]: '0+30x40',
      [series({ ...data, workload: 'redis-streams' }, 'redis_cpu_user_seconds_total')]: '0+30x40',
    },
    labels: { ...data, workload: 'redis-streams' },
    healthy: {
      [series({ ...data, workload: 'redis-streams' }, 'redis_cpu_sys_seconds_total')]: '0+3x40',
      [series({ ...data, workload: 'redis-streams' }, 'redis_cpu_user_seconds_total')]: '0+3x40',
    },
    at: '30m',
  },
  PrefectRedisMemoryNearLimit: {
    firing: {
      [series({ ...data, workload: 'redis-work' }, 'redis_memory_used_bytes')]: '95x30',
      [series({ ...data, workload: 'redis-work' }, 'redis_memory_max_bytes')]: '100x30',
    },
    labels: { ...data, workload: 'redis-work' },
    healthy: {
      [series({ ...data, workload: 'redis-work' }, 'redis_memory_used_bytes')]: '50x30',
      [series({ ...data, workload: 'redis-work' }, 'redis_memory_max_bytes')]: '100x30',
    },
    at: '20m',
  },
  PrefectRedisCacheHitRatioLow: {
    firing: {
      [series({ ...data, workload: 'redis-cache' }, 'redis_keyspace_hits_total')]: '0+10x120',
      [series({ ...data, workload: 'redis-cache' }, 'redis_keyspace_misses_total')]: '0+90x120',
      [series({ ...data, workload: 'redis-cache' }, 'redis_evicted_keys_total')]: '0+5x120',
    },
    labels: { ...data, workload: 'redis-cache' },
    healthy: {
      [series({ ...data, workload: 'redis-cache' }, 'redis_keyspace_hits_total')]: '0+90x120',
      [series({ ...data, workload: 'redis-cache' }, 'redis_keyspace_misses_total')]: '0+10x120',
      [series({ ...data, workload: 'redis-cache' }, 'redis_evicted_keys_total')]: '0+5x120',
    },
    at: '100m',
  },
  PrefectStreamConsumerLagGrowing: {
    firing: { [series(stream, 'redis_stream_group_lag')]: '2000+100x60' },
    labels: stream,
    healthy: { [series(stream, 'redis_stream_group_lag')]: '20x60' },
    at: '45m',
  },
  PrefectStreamPendingGrowing: {
    firing: { [series(stream, 'redis_stream_group_messages_pending')]: '2000+100x60' },
    labels: stream,
    healthy: { [series(stream, 'redis_stream_group_messages_pending')]: '2000-10x60' },
    at: '45m',
  },
  PrefectVolumeFilling: {
    firing: {
      [series({ ...data, persistentvolumeclaim: 'data-postgres-0' }, 'kubelet_volume_stats_used_bytes')]: '90x30',
      [series({ ...data, persistentvolumeclaim: 'data-postgres-0' }, 'kubelet_volume_stats_capacity_bytes')]: '100x30',
    },
    labels: { ...data, persistentvolumeclaim: 'data-postgres-0' },
    healthy: {
      [series({ ...data, persistentvolumeclaim: 'data-postgres-0' }, 'kubelet_volume_stats_used_bytes')]: '70x30',
      [series({ ...data, persistentvolumeclaim: 'data-postgres-0' }, 'kubelet_volume_stats_capacity_bytes')]: '100x30',
    },
    at: '20m',
  },
  PrefectMigrationJobFailed: {
    firing: { [series({ ...data, job_name: 'migrate-orion-17ee87848f' }, 'kube_job_status_failed')]: '1x10' },
    labels: { ...data, job_name: 'migrate-orion-17ee87848f' },
    healthy: {
      [series({ ...data, job_name: 'migrate-orion-17ee87848f' }, 'kube_job_status_failed')]: '0x10',
      // Another Job's failure is not a migration's.
      [series({ ...data, job_name: 'postgres-backup-29000000' }, 'kube_job_status_failed')]: '1x10',
    },
    at: '5m',
  },
  PrefectLoopServiceNotRunning: {
    firing: { [series({ namespace: 'prefect', statefulset: 'triggers-proactive' }, 'kube_statefulset_status_replicas_ready')]: '0x30' },
    labels: { namespace: 'prefect', statefulset: 'triggers-proactive' },
    healthy: { [series({ namespace: 'prefect', statefulset: 'triggers-proactive' }, 'kube_statefulset_status_replicas_ready')]: '1x30' },
    at: '20m',
  },
  PrefectWebErrorsHigh: {
    firing: {
      [series({ ...web, response_code: '500' }, 'istio_requests_total')]: '0+10x40',
      [series({ ...web, response_code: '200' }, 'istio_requests_total')]: '0+10x40',
    },
    labels: { destination_workload: 'server' },
    healthy: {
      [series({ ...web, response_code: '500' }, 'istio_requests_total')]: '0+1x40',
      [series({ ...web, response_code: '200' }, 'istio_requests_total')]: '0+100x40',
    },
    at: '25m',
  },
  PrefectWebLatencyHigh: {
    firing: {
      [series({ ...web, le: '1000' }, 'istio_request_duration_milliseconds_bucket')]: '0+1x40',
      [series({ ...web, le: '10000' }, 'istio_request_duration_milliseconds_bucket')]: '0+10x40',
      [series({ ...web, le: '+Inf' }, 'istio_request_duration_milliseconds_bucket')]: '0+10x40',
    },
    labels: { destination_workload: 'server' },
    healthy: {
      [series({ ...web, le: '1000' }, 'istio_request_duration_milliseconds_bucket')]: '0+10x40',
      [series({ ...web, le: '10000' }, 'istio_request_duration_milliseconds_bucket')]: '0+10x40',
      [series({ ...web, le: '+Inf' }, 'istio_request_duration_milliseconds_bucket')]: '0+10x40',
    },
    at: '30m',
  },
  PrefectPostgresBackupMissing: {
    // Hourly samples: the last success stays at 0 while 40 hours pass.
    firing: { [series({ ...data, cronjob: 'postgres-backup' }, 'kube_cronjob_status_last_successful_time')]: '0x40' },
    labels: { ...data, cronjob: 'postgres-backup' },
    healthy: { [series({ ...data, cronjob: 'postgres-backup' }, 'kube_cronjob_status_last_successful_time')]: '0+3600x40' },
    at: '35h',
    interval: '1h',
  },
  PrefectCertificateExpiringSoon: {
    firing: {
      [series({ name: 'prefect-tls', namespace: 'istio-ingress' }, 'certmanager_certificate_expiration_timestamp_seconds')]:
        `${5 * 86400}x200`,
    },
    labels: { name: 'prefect-tls', namespace: 'istio-ingress' },
    healthy: {
      [series({ name: 'prefect-tls', namespace: 'istio-ingress' }, 'certmanager_certificate_expiration_timestamp_seconds')]:
        `${60 * 86400}x200`,
    },
    at: '2h',
  },
  PrefectCertificateNotReady: {
    firing: {
      [series({ name: 'prefect-tls', namespace: 'istio-ingress', condition: 'False' }, 'certmanager_certificate_ready_status')]: '1x60',
    },
    labels: { name: 'prefect-tls', namespace: 'istio-ingress', condition: 'False' },
    healthy: {
      [series({ name: 'prefect-tls', namespace: 'istio-ingress', condition: 'False' }, 'certmanager_certificate_ready_status')]: '0x60',
    },
    at: '45m',
  },
};

/** The annotations as Prometheus expands them for an alert with these labels. */
function expanded(annotations: Record<string, string>, labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(annotations).map(([key, text]) => [
      key,
      text.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, name: string) => labels[name] ?? ''),
    ]),
  );
}

/** What the CloudNativePG variant's rules read: its instances' series, by pod. */
const instance = { ...pg, pod: 'postgres-1' };
const replica = { ...pg, pod: 'postgres-2' };
const cnpgTable = (name: string) => ({ ...instance, datname: 'events', schemaname: 'public', relname: name });
const backupMetric = (name: string) => `barman_cloud_cloudnative_pg_io_${name}`;
const STATEFULSET_ONLY = ['PrefectPostgresExclusiveLockHeld'];

const CLOUDNATIVE_PG_CASES: Record<string, Case> = {
  ...Object.fromEntries(Object.entries(CASES).filter(([alert]) => !STATEFULSET_ONLY.includes(alert))),
  PrefectPostgresDown: {
    firing: { [series({ ...instance, cluster: 'postgres' }, 'cnpg_collector_up')]: '0x20' },
    labels: { ...instance, cluster: 'postgres' },
    healthy: { [series({ ...instance, cluster: 'postgres' }, 'cnpg_collector_up')]: '1x20' },
    at: '10m',
  },
  PrefectPostgresNoPrimary: {
    // Two replicas and no primary.
    firing: { [series(instance, 'cnpg_pg_replication_in_recovery')]: '1x20', [series(replica, 'cnpg_pg_replication_in_recovery')]: '1x20' },
    labels: {},
    healthy: {
      [series(instance, 'cnpg_pg_replication_in_recovery')]: '0x20',
      [series(replica, 'cnpg_pg_replication_in_recovery')]: '1x20',
    },
    at: '10m',
  },
  PrefectPostgresConnectionsHigh: {
    firing: {
      [series({ ...instance, datname: 'orion', usename: 'orion', application_name: '', state: 'active' }, 'cnpg_backends_total')]:
        `${cnpgMaxConnections}x30`,
    },
    labels: { pod: 'postgres-1' },
    healthy: {
      [series({ ...instance, datname: 'orion', usename: 'orion', application_name: '', state: 'active' }, 'cnpg_backends_total')]: '5x30',
    },
    at: '20m',
  },
  PrefectPostgresLockWaits: {
    firing: { [series(instance, 'cnpg_backends_waiting_total')]: '2x30' },
    labels: { pod: 'postgres-1' },
    healthy: { [series(instance, 'cnpg_backends_waiting_total')]: '0x30' },
    at: '20m',
  },
  PrefectPostgresDeadlocks: {
    firing: { [series({ ...instance, datname: 'orion' }, 'cnpg_pg_stat_database_deadlocks')]: '0+1x30' },
    labels: { ...instance, datname: 'orion' },
    healthy: { [series({ ...instance, datname: 'orion' }, 'cnpg_pg_stat_database_deadlocks')]: '3x30' },
    at: '20m',
  },
  PrefectPostgresTableBloat: {
    firing: {
      [series(cnpgTable('event_resources'), 'cnpg_pg_table_maintenance_dead_rows')]: '50000x100',
      [series(cnpgTable('event_resources'), 'cnpg_pg_table_maintenance_live_rows')]: '1000x100',
    },
    labels: cnpgTable('event_resources'),
    healthy: {
      [series(cnpgTable('event_resources'), 'cnpg_pg_table_maintenance_dead_rows')]: '50000x100',
      [series(cnpgTable('event_resources'), 'cnpg_pg_table_maintenance_live_rows')]: '900000x100',
    },
    at: '90m',
  },
  PrefectPostgresAutovacuumStale: {
    firing: {
      [series(cnpgTable('events'), 'cnpg_pg_table_maintenance_seconds_since_vacuum')]: '-1x100',
      [series(cnpgTable('events'), 'cnpg_pg_table_maintenance_dead_rows')]: '5000x100',
      [series(cnpgTable('events'), 'cnpg_pg_table_maintenance_live_rows')]: '1000x100',
    },
    labels: cnpgTable('events'),
    healthy: {
      [series(cnpgTable('events'), 'cnpg_pg_table_maintenance_seconds_since_vacuum')]: '-1x100',
      [series(cnpgTable('events'), 'cnpg_pg_table_maintenance_dead_rows')]: '20x100',
      [series(cnpgTable('events'), 'cnpg_pg_table_maintenance_live_rows')]: '1000x100',
    },
    at: '90m',
  },
  PrefectPostgresReplicationLagHigh: {
    firing: { [series(replica, 'cnpg_pg_replication_lag')]: '600x20' },
    labels: replica,
    healthy: { [series(replica, 'cnpg_pg_replication_lag')]: '0x20' },
    at: '15m',
  },
  PrefectPostgresReplicaMissing: {
    firing: {
      [series(instance, 'cnpg_pg_replication_streaming_replicas')]: '1x30',
      [series(replica, 'cnpg_pg_replication_streaming_replicas')]: '0x30',
    },
    labels: pg,
    healthy: {
      [series(instance, 'cnpg_pg_replication_streaming_replicas')]: '2x30',
      [series(replica, 'cnpg_pg_replication_streaming_replicas')]: '0x30',
    },
    at: '20m',
  },
  PrefectPostgresWalArchivingFailing: {
    firing: {
      [series(instance, 'cnpg_pg_stat_archiver_last_failed_time')]: '2000x30',
      [series(instance, 'cnpg_pg_stat_archiver_last_archived_time')]: '1000x30',
    },
    labels: instance,
    healthy: {
      [series(instance, 'cnpg_pg_stat_archiver_last_failed_time')]: '1000x30',
      [series(instance, 'cnpg_pg_stat_archiver_last_archived_time')]: '2000x30',
    },
    at: '20m',
  },
  PrefectPostgresBackupMissing: {
    // Hourly samples: the newest backup stays at 0 (none) while 40 hours pass; daily backups allow 30 h.
    firing: { [series(instance, backupMetric('last_available_backup_timestamp'))]: '0x40' },
    labels: pg,
    healthy: { [series(instance, backupMetric('last_available_backup_timestamp'))]: '0+3600x40' },
    at: '35h',
    interval: '1h',
  },
  PrefectPostgresBackupFailed: {
    firing: {
      [series(instance, backupMetric('last_failed_backup_timestamp'))]: '5000x10',
      [series(instance, backupMetric('last_available_backup_timestamp'))]: '1000x10',
    },
    labels: pg,
    healthy: {
      [series(instance, backupMetric('last_failed_backup_timestamp'))]: '0x10',
      [series(instance, backupMetric('last_available_backup_timestamp'))]: '1000x10',
    },
    at: '5m',
  },
  PrefectVolumeFilling: {
    // An instance's claim, whatever its serial; a claim of another name is not watched.
    firing: {
      [series({ ...data, persistentvolumeclaim: 'postgres-4' }, 'kubelet_volume_stats_used_bytes')]: '90x30',
      [series({ ...data, persistentvolumeclaim: 'postgres-4' }, 'kubelet_volume_stats_capacity_bytes')]: '100x30',
    },
    labels: { ...data, persistentvolumeclaim: 'postgres-4' },
    healthy: {
      [series({ ...data, persistentvolumeclaim: 'postgres-4-old' }, 'kubelet_volume_stats_used_bytes')]: '90x30',
      [series({ ...data, persistentvolumeclaim: 'postgres-4-old' }, 'kubelet_volume_stats_capacity_bytes')]: '100x30',
      [series({ ...data, persistentvolumeclaim: 'data-redis-work-0' }, 'kubelet_volume_stats_used_bytes')]: '50x30',
      [series({ ...data, persistentvolumeclaim: 'data-redis-work-0' }, 'kubelet_volume_stats_capacity_bytes')]: '100x30',
    },
    at: '20m',
  },
};

/** An environment, its cases, and metrics its PostgreSQL rules must read. */
const SUITES: readonly [string, RenderedEnvironment, Record<string, Case>, readonly string[]][] = [
  ['prod', rendered, CASES, ['pg_up', 'pg_stat_activity_count', 'pg_table_maintenance_dead_rows']],
  [
    'prod with CloudNativePG',
    cloudnative,
    CLOUDNATIVE_PG_CASES,
    ['cnpg_collector_up', 'cnpg_backends_total', 'cnpg_pg_table_maintenance_dead_rows', backupMetric('last_available_backup_timestamp')],
  ],
];

describe.each(SUITES)('the alert rules of %s, by promtool', (_, built, cases, postgresMetrics) => {
  const rule = findObject(built, 'PrometheusRule', 'prefect-alerts', 'prefect') as unknown as {
    spec: { groups: { name: string; rules: Rule[] }[] };
  };
  const rules = rule.spec.groups.flatMap((group) => group.rules);
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'prefect-rules-'));
  afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));
  fs.writeFileSync(path.join(folder, 'rules.yaml'), yaml.dump({ groups: rule.spec.groups }));
  it('has a case for every alert, and every alert a runbook in the README', () => {
    expect(rules.map((r) => r.alert).sort()).toEqual(Object.keys(cases).sort());
    const readme = built.files.get('README.md') as string;
    for (const r of rules) {
      expect(r.annotations.runbook_url, r.alert).toBe(`dist/prod/README.md#${r.alert.toLowerCase()}`);
      expect(readme, r.alert).toContain(`#### ${r.alert}\n`);
      expect(r.labels.severity, r.alert).toMatch(/^(critical|warning)$/);
    }
  });

  it('passes `promtool check rules` (every expression parsed, no lint finding)', async () => {
    const result = await runTool('promtool', ['check', 'rules', '--lint=all', '--lint-fatal', path.join(folder, 'rules.yaml')]);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain(`${rules.length} rules found`);
  });

  it('a broken expression fails `promtool check rules` (the check can fail)', async () => {
    const broken = structuredClone(rule.spec.groups);
    (broken[0]?.rules[0] as { expr: string }).expr = 'sum(pg_up{';
    fs.writeFileSync(path.join(folder, 'broken.yaml'), yaml.dump({ groups: broken }));
    const result = await runTool('promtool', ['check', 'rules', path.join(folder, 'broken.yaml')]);
    expect(result.status).not.toBe(0);
  });

  it('fires every alert on its fault and none on healthy series (`promtool test rules`)', async () => {
    const tests = Object.entries(cases).flatMap(([alert, c]) => {
      const own = rules.find((r) => r.alert === alert) as Rule;
      const input = (values: Record<string, string>) => Object.entries(values).map(([s, v]) => ({ series: s, values: v }));
      return [
        {
          name: `${alert} fires`,
          interval: c.interval ?? '1m',
          input_series: input(c.firing),
          alert_rule_test: [
            {
              eval_time: c.at,
              alertname: alert,
              exp_alerts: [{ exp_labels: { ...c.labels, ...own.labels }, exp_annotations: expanded(own.annotations, c.labels) }],
            },
          ],
        },
        {
          name: `${alert} stays quiet`,
          interval: c.interval ?? '1m',
          input_series: input(c.healthy),
          alert_rule_test: [{ eval_time: c.at, alertname: alert, exp_alerts: [] }],
        },
      ];
    });
    fs.writeFileSync(path.join(folder, 'tests.yaml'), yaml.dump({ rule_files: ['rules.yaml'], evaluation_interval: '1m', tests }));
    const result = await runTool('promtool', ['test', 'rules', path.join(folder, 'tests.yaml')]);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('SUCCESS');
  });

  it('reads the metrics of its PostgreSQL exporter and of Redis (the exporter suites look for each)', () => {
    const read = [...new Set(rules.flatMap((r) => metricsRead(r.expr)))];
    expect(read).toEqual(expect.arrayContaining([...postgresMetrics, 'redis_up', 'redis_stream_group_lag']));
    // One exporter's names, not the other's.
    const other = postgresMetrics[0]?.startsWith('cnpg_') ? /^pg_/ : /^cnpg_/;
    expect(read.filter((name) => other.test(name))).toEqual([]);
  });
});

describe('the alert rules of the open-source edition with monitoring', () => {
  const built = buildVariant('oss', { monitoring: { enabled: true } });
  const rules = (
    findObject(built, 'PrometheusRule', 'prefect-alerts', 'prefect') as unknown as { spec: { groups: { rules: Rule[] }[] } }
  ).spec.groups.flatMap((group) => group.rules);

  it("watch the messaging broker's consumer groups, and pass `promtool check rules`", async () => {
    for (const alert of ['PrefectStreamConsumerLagGrowing', 'PrefectStreamPendingGrowing']) {
      expect(rules.find((r) => r.alert === alert)?.expr, alert).toContain('workload=~"redis-messaging"');
    }
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'prefect-rules-oss-'));
    try {
      const file = path.join(folder, 'rules.yaml');
      fs.writeFileSync(
        file,
        yaml.dump({ groups: (findObject(built, 'PrometheusRule', 'prefect-alerts', 'prefect').spec as { groups: unknown }).groups }),
      );
      const result = await runTool('promtool', ['check', 'rules', '--lint=all', '--lint-fatal', file]);
      expect(result.status, result.stdout + result.stderr).toBe(0);
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe('the CloudNativePG backup alerts follow the schedule', () => {
  const alerts = (schedule: string) =>
    (
      findObject(
        buildVariant('prod', [VARIANTS.cloudnativePg, { postgres: { backup: { schedule } } }]),
        'PrometheusRule',
        'prefect-alerts',
        'prefect',
      ) as unknown as { spec: { groups: { rules: Rule[] }[] } }
    ).spec.groups.flatMap((group) => group.rules);

  it('allows the longest gap of the six-field schedule plus six hours', () => {
    // Every Sunday at 01:30 ("?" for any day of the month): a week.
    const missing = alerts('0 30 1 ? * sun').find((r) => r.alert === 'PrefectPostgresBackupMissing');
    expect(missing?.expr).toContain(`> ${7 * 86400 + 6 * 3600} or absent(`);
  });

  it('keeps the archiving and failure alerts, without an age, for a schedule that never runs (30 February)', () => {
    const names = alerts('0 0 2 30 2 *').map((r) => r.alert);
    expect(names).toEqual(expect.arrayContaining(['PrefectPostgresWalArchivingFailing', 'PrefectPostgresBackupFailed']));
    expect(names).not.toContain('PrefectPostgresBackupMissing');
  });
});
