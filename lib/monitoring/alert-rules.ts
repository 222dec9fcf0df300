import { CLOUDNATIVE_PG_NAMESPACE } from '../platform/cloudnative-pg-operator';

/*
 * The alerts of one installation, as data: each with its PromQL expression, how long it must hold,
 * its severity, what it means and what to do (the runbook the per-environment README prints and
 * each alert's runbook_url points at). The expressions read:
 * - the exporters beside PostgreSQL and Redis (pg_*, redis_*), whose exact versions the tests run
 *   against real servers to find every metric named here;
 * - CloudNativePG's exporter in every instance (cnpg_*, with its default queries and ours), run by
 *   the tests from the operator's Go module against a real server, and the Barman Cloud plugin's
 *   backup metrics (barman_cloud_cloudnative_pg_io_*, named in the plugin's source);
 * - Istio's standard metrics of the sidecars (istio_requests_total, istio_request_duration_milliseconds);
 * - kube-state-metrics (kube_job_*, kube_statefulset_*, kube_cronjob_*) and the kubelet's volume
 *   statistics (kubelet_volume_stats_*), which a Prometheus Operator stack scrapes itself;
 * - cert-manager's controller (certmanager_certificate_*).
 * Every expression is checked by promtool (the tests), and every alert fires in promtool's unit
 * tests on the series that describe its fault.
 */

export type Severity = 'critical' | 'warning';

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  /** How long the expression must hold before the alert fires. */
  readonly for: string;
  readonly severity: Severity;
  readonly summary: string;
  /** What the alert means (one or two sentences, with {{ $labels.… }} where useful). */
  readonly description: string;
  /** What to do, as Markdown list items (the README's runbook section). */
  readonly runbook: readonly string[];
}

export interface AlertGroup {
  readonly name: string;
  readonly rules: readonly AlertRule[];
}

export interface MonitoredInstallation {
  readonly environment: string;
  readonly namespaces: { readonly prefect: string; readonly data: string; readonly ingress: string };
  /** The StatefulSet provider's server, with its exporter. */
  readonly postgres?: {
    readonly workload: string;
    /** max_connections as postgresql.conf sets it. */
    readonly maxConnections: number;
    readonly databases: readonly string[];
    /** autovacuum_vacuum_scale_factor of postgresql.conf. */
    readonly vacuumScaleFactor: number;
  };
  /** The CloudNativePG provider's Cluster, with the exporter of every instance. */
  readonly cloudnativePg?: {
    readonly cluster: string;
    readonly instances: number;
    /** max_connections as the Cluster's parameters set it. */
    readonly maxConnections: number;
    readonly databases: readonly string[];
    readonly vacuumScaleFactor: number;
    /**
     * With postgres.backup: WAL archived, and base backups no older than `maxAgeSeconds` (none
     * for a schedule that runs less than twice in two years).
     */
    readonly backup?: { readonly maxAgeSeconds?: number };
  };
  /** The in-cluster Redis instances, with their exporters. */
  readonly redis: readonly { readonly workload: string; readonly persistent: boolean; readonly streams: boolean }[];
  /** The claims the data tier's volumes are bound through (PostgreSQL's, Redis's, the backups'). */
  readonly volumes: readonly string[];
  /** Claims named by pattern (regular expressions: CloudNativePG's, "<cluster>-<serial>"). */
  readonly volumePatterns?: readonly string[];
  /** Web services (their Istio request metrics). */
  readonly webServices: readonly string[];
  /** The one-replica StatefulSets of the loop services. */
  readonly loops: readonly string[];
  /** The databases whose migration Jobs are named "migrate-<database>-<hash>". */
  readonly migrated: readonly string[];
  /** The logical backup's CronJob and how often it runs at most (seconds between two runs, with slack). */
  readonly backup?: { readonly cronJob: string; readonly maxAgeSeconds: number };
  /** The gateway's certificate, where cert-manager issues it. */
  readonly certificate?: { readonly name: string; readonly namespace: string };
}

/** Share of max_connections above which the connections alert fires. */
export const CONNECTIONS_WARNING_SHARE = 0.8;
/** Share of a volume above which the disk alert fires (Prefect's database-maintenance guide: 80%). */
export const DISK_WARNING_SHARE = 0.8;
/** Days before expiry when the certificate alert fires (cert-manager renews at 2/3 of the lifetime). */
export const CERTIFICATE_WARNING_DAYS = 14;

/** A name as a regular expression that matches it alone. */
const escaped = (name: string) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Names as the alternatives of a PromQL regular-expression matcher (its backslashes doubled in the string). */
const alternatives = (names: readonly string[]) => names.map((name) => escaped(name).replace(/\\/g, '\\\\')).join('|');

/** The installation's alert groups: those of the parts it has. */
export function alertGroups(installation: MonitoredInstallation): AlertGroup[] {
  const groups: AlertGroup[] = [];
  const { namespaces } = installation;
  const data = `namespace="${namespaces.data}"`;

  const postgres = installation.postgres;
  if (postgres) {
    const pg = `${data}, workload="${postgres.workload}"`;
    const databases = `datname=~"${alternatives(postgres.databases)}"`;
    groups.push({
      name: 'prefect-postgres',
      rules: [
        {
          alert: 'PrefectPostgresDown',
          expr: `pg_up{${pg}} == 0 or absent(pg_up{${pg}})`,
          for: '5m',
          severity: 'critical',
          summary: 'PostgreSQL does not answer its exporter',
          description:
            'The exporter beside PostgreSQL cannot connect, or is not scraped: every Prefect service that reads a database fails.',
          runbook: [
            `\`kubectl -n ${namespaces.data} get pod ${postgres.workload}-0\` and \`kubectl -n ${namespaces.data} logs ${postgres.workload}-0 -c postgres\`: a crash loop, a full disk, or an out-of-memory kill.`,
            `If the server runs and answers (\`kubectl -n ${namespaces.data} exec ${postgres.workload}-0 -c postgres -- pg_isready\`), read the exporter's log (\`-c metrics\`): its role (prefect_metrics) is created by the init Jobs.`,
          ],
        },
        {
          alert: 'PrefectPostgresConnectionsHigh',
          expr: `sum(pg_stat_activity_count{${pg}}) > ${Math.floor(postgres.maxConnections * CONNECTIONS_WARNING_SHARE)}`,
          for: '10m',
          severity: 'warning',
          summary: `PostgreSQL connections above ${CONNECTIONS_WARNING_SHARE * 100}% of max_connections (${postgres.maxConnections})`,
          description: `max_connections is sized for every service at its maximum replicas; more than ${CONNECTIONS_WARNING_SHARE * 100}% in use means pools larger than planned or connections left open.`,
          runbook: [
            `Who holds them: \`SELECT usename, datname, application_name, state, count(*) FROM pg_stat_activity GROUP BY 1, 2, 3, 4 ORDER BY 5 DESC;\` (as the superuser).`,
            'Many `idle in transaction`: a service holds transactions open; restart it and report it.',
            'More replicas than planned (a changed `maxReplicas` or pool size): synthesize again, so that max_connections follows, or lower the pools.',
          ],
        },
        {
          alert: 'PrefectPostgresExclusiveLockHeld',
          expr: `sum by (datname) (pg_locks_count{${pg}, ${databases}, mode="accessexclusivelock"}) > 0`,
          for: '10m',
          severity: 'warning',
          summary: 'An ACCESS EXCLUSIVE lock has been held for 10 minutes in {{ $labels.datname }}',
          description:
            'An ACCESS EXCLUSIVE lock blocks every read and write of its table: a migration, a manual DDL statement or a VACUUM FULL is in the way of the services.',
          runbook: [
            "Find the holder: `SELECT pid, usename, state, now() - xact_start AS age, query FROM pg_stat_activity WHERE pid IN (SELECT pid FROM pg_locks WHERE mode = 'AccessExclusiveLock');`",
            'A migration Job: let it finish (its Job has a deadline). A manual statement: end it with `SELECT pg_cancel_backend(<pid>);`.',
          ],
        },
        ...tableRules({
          metric: (name) => `pg_${name}`,
          selector: pg,
          databases,
          vacuumScaleFactor: postgres.vacuumScaleFactor,
          log: `kubectl -n ${namespaces.data} logs ${postgres.workload}-0 -c postgres`,
        }),
      ],
    });
  }

  const cnpg = installation.cloudnativePg;
  if (cnpg) groups.push({ name: 'prefect-cloudnative-pg', rules: cloudNativePgRules(cnpg, namespaces) });

  if (installation.redis.length > 0) {
    const rules: AlertRule[] = [];
    const all = `${data}, workload=~"${alternatives(installation.redis.map((instance) => instance.workload))}"`;
    rules.push(
      {
        alert: 'PrefectRedisDown',
        expr: `redis_up{${all}} == 0`,
        for: '5m',
        severity: 'critical',
        summary: 'Redis {{ $labels.workload }} does not answer its exporter',
        description: 'The services that use this instance fail: caches miss, queues and streams stop.',
        runbook: [
          `\`kubectl -n ${namespaces.data} get pods -l app.kubernetes.io/name={{ $labels.workload }}\` and the \`redis\` container's log: a crash loop, an AOF that does not load, an out-of-memory kill.`,
          'A persistent instance (work, streams) that cannot load its AOF: `redis-check-aof --fix` on a copy, as the README says under Redis.',
        ],
      },
      {
        alert: 'PrefectRedisCpuHigh',
        expr: `rate(redis_cpu_sys_seconds_total{${all}}[5m]) + rate(redis_cpu_user_seconds_total{${all}}[5m]) > 0.8`,
        for: '15m',
        severity: 'warning',
        summary: 'Redis {{ $labels.workload }} uses more than 80% of a core',
        description:
          'Redis runs commands on one thread: near a full core, every client waits. On streams, high CPU may mean a backlog of unprocessed events (Prefect, monitoring).',
        runbook: [
          'The slowest commands: `redis-cli --user admin SLOWLOG GET 20` in the pod.',
          'On streams: look at the consumer-group alerts; more consumer replicas drain a backlog.',
        ],
      },
    );
    const persistent = installation.redis.filter((instance) => instance.persistent).map((instance) => instance.workload);
    if (persistent.length > 0) {
      const selector = `${data}, workload=~"${alternatives(persistent)}"`;
      rules.push({
        alert: 'PrefectRedisMemoryNearLimit',
        expr: `redis_memory_used_bytes{${selector}} / redis_memory_max_bytes{${selector}} > 0.9`,
        for: '10m',
        severity: 'critical',
        summary: 'Redis {{ $labels.workload }} is above 90% of maxmemory',
        description: 'Queues and streams never evict (noeviction): at maxmemory every write fails.',
        runbook: [
          'What fills it: `redis-cli --user admin --bigkeys` and `INFO keyspace` in the pod.',
          "A stream growing without consumers: see the consumer-group alerts. Otherwise raise the instance's `memory` (and its memory limit) in the configuration.",
        ],
      });
    }
    const caches = installation.redis.filter((instance) => !instance.persistent).map((instance) => instance.workload);
    if (caches.length > 0) {
      const selector = `${data}, workload=~"${alternatives(caches)}"`;
      rules.push({
        alert: 'PrefectRedisCacheHitRatioLow',
        expr: `rate(redis_keyspace_hits_total{${selector}}[30m]) / (rate(redis_keyspace_hits_total{${selector}}[30m]) + rate(redis_keyspace_misses_total{${selector}}[30m])) < 0.5 and rate(redis_evicted_keys_total{${selector}}[30m]) > 0`,
        for: '30m',
        severity: 'warning',
        summary: 'The cache answers less than half of its reads, and evicts',
        description:
          'The cache is too small for what the services keep in it: keys are evicted before they are read again (Prefect, monitoring: the cache hit ratio).',
        runbook: ["Raise `redis.cache.memory` (and the instance's memory limit) in the configuration."],
      });
    }
    const streams = installation.redis.filter((instance) => instance.streams).map((instance) => instance.workload);
    if (streams.length > 0) {
      const selector = `${data}, workload=~"${alternatives(streams)}"`;
      rules.push(
        {
          alert: 'PrefectStreamConsumerLagGrowing',
          expr: `redis_stream_group_lag{${selector}} > 1000 and deriv(redis_stream_group_lag{${selector}}[15m]) > 0`,
          for: '15m',
          severity: 'warning',
          summary: 'Consumer group {{ $labels.group }} of stream {{ $labels.stream }} falls behind',
          description: 'More than 1000 entries wait to be delivered to the group, and the number grows: its consumers do not keep up.',
          runbook: [
            'Are the consumers running? `kubectl -n ' + namespaces.prefect + ' get pods` — the services of type consumer.',
            'They run but cannot keep up: raise their replicas (`prefect.services.<name>.replicas` / `maxReplicas`) within the capacity check.',
          ],
        },
        {
          alert: 'PrefectStreamPendingGrowing',
          expr: `redis_stream_group_messages_pending{${selector}} > 1000 and deriv(redis_stream_group_messages_pending{${selector}}[15m]) > 0`,
          for: '15m',
          severity: 'warning',
          summary: 'Entries of stream {{ $labels.stream }} delivered to {{ $labels.group }} are not acknowledged',
          description:
            'More than 1000 delivered entries are pending and the number grows: consumers fail on them, or crashed while holding them.',
          runbook: [
            'Consumers crashing: their logs and restarts (`kubectl -n ' + namespaces.prefect + ' get pods`).',
            'Who holds them: `redis-cli --user admin XPENDING {{ $labels.stream }} {{ $labels.group }}` in the streams pod.',
          ],
        },
      );
    }
    groups.push({ name: 'prefect-redis', rules });
  }

  const volumes = [...installation.volumes.map(escaped), ...(installation.volumePatterns ?? [])];
  const prefectRules: AlertRule[] = [];
  if (volumes.length > 0) {
    const selector = `${data}, persistentvolumeclaim=~"${volumes.map((volume) => volume.replace(/\\/g, '\\\\')).join('|')}"`;
    prefectRules.push({
      alert: 'PrefectVolumeFilling',
      expr: `kubelet_volume_stats_used_bytes{${selector}} / kubelet_volume_stats_capacity_bytes{${selector}} > ${DISK_WARNING_SHARE}`,
      for: '15m',
      severity: 'warning',
      summary: `Volume {{ $labels.persistentvolumeclaim }} is more than ${DISK_WARNING_SHARE * 100}% full`,
      description: "Prefect's database-maintenance guide: act before 80%. A full volume stops PostgreSQL or Redis's AOF, or the backups.",
      runbook: [
        "Grow the volume: raise its size in the configuration and follow the README's day-two steps for the claim (a StatefulSet's volumeClaimTemplates cannot change: expand the claim itself).",
        "PostgreSQL: bloat and Prefect's retention settings decide how fast it fills; backups: lower `postgres.logicalBackup.keep`.",
      ],
    });
  }
  if (installation.migrated.length > 0) {
    prefectRules.push({
      alert: 'PrefectMigrationJobFailed',
      expr: `kube_job_status_failed{${data}, job_name=~"migrate-(${alternatives(installation.migrated)})-[0-9a-f]+"} > 0`,
      for: '0m',
      severity: 'critical',
      summary: 'Migration Job {{ $labels.job_name }} failed',
      description: 'The services do not roll out onto an unmigrated database: the migrations layer waits, and the release stops here.',
      runbook: [
        `Its log: \`kubectl -n ${namespaces.data} logs job/{{ $labels.job_name }}\`.`,
        'A database or Redis that was not reachable: fix it, then delete the Job; Flux creates it again and it runs again (it is idempotent).',
        'A migration error: report it with the Prefect version; roll the image tag back in Git.',
      ],
    });
  }
  if (installation.loops.length > 0) {
    prefectRules.push({
      alert: 'PrefectLoopServiceNotRunning',
      expr: `kube_statefulset_status_replicas_ready{namespace="${namespaces.prefect}", statefulset=~"${alternatives(installation.loops)}"} < 1`,
      for: '10m',
      severity: 'critical',
      summary: 'Loop service {{ $labels.statefulset }} has no ready pod',
      description: 'Loop services are singletons: while it is down, its periodic work (schedules, proactive triggers) does not happen.',
      runbook: [
        `\`kubectl -n ${namespaces.prefect} describe statefulset {{ $labels.statefulset }}\` and its pod's events: scheduling (capacity), image pull, crash loop.`,
        'A pod stuck terminating on a lost node keeps the StatefulSet from starting another: delete it with `--force` once the node is gone.',
      ],
    });
  }
  if (installation.webServices.length > 0) {
    const selector = `reporter="destination", destination_workload_namespace="${namespaces.prefect}", destination_workload=~"${alternatives(installation.webServices)}"`;
    prefectRules.push(
      {
        alert: 'PrefectWebErrorsHigh',
        expr: `sum by (destination_workload) (rate(istio_requests_total{${selector}, response_code=~"5.."}[5m])) / sum by (destination_workload) (rate(istio_requests_total{${selector}}[5m])) > 0.05`,
        for: '10m',
        severity: 'critical',
        summary: 'More than 5% of the requests to {{ $labels.destination_workload }} fail with 5xx',
        description:
          "Measured by the service's own sidecar (Istio's request metrics): what the service answered, and errors of the mesh in front of it.",
        runbook: [
          `The service's log: \`kubectl -n ${namespaces.prefect} logs deploy/{{ $labels.destination_workload }} -c {{ $labels.destination_workload }}\`.`,
          '503 with no log: the pods are not ready or are restarting (`kubectl get pods`); a database or Redis alert often fires at the same time.',
        ],
      },
      {
        alert: 'PrefectWebLatencyHigh',
        expr: `histogram_quantile(0.99, sum by (destination_workload, le) (rate(istio_request_duration_milliseconds_bucket{${selector}}[5m]))) > 5000`,
        for: '15m',
        severity: 'warning',
        summary: 'The slowest 1% of requests to {{ $labels.destination_workload }} take more than 5 s',
        description: 'p99 latency measured by the sidecar of the service.',
        runbook: [
          'CPU throttling or too few replicas: `kubectl -n ' + namespaces.prefect + ' top pods`, the HPA (`kubectl get hpa`).',
          "Slow queries: PostgreSQL's log has every statement over 1 s (auto_explain), with its plan.",
        ],
      },
    );
  }
  if (installation.backup) {
    const { cronJob, maxAgeSeconds } = installation.backup;
    prefectRules.push({
      alert: 'PrefectPostgresBackupMissing',
      // Never succeeded yet: the CronJob older than the allowed age and no success on record.
      expr: `time() - kube_cronjob_status_last_successful_time{${data}, cronjob="${cronJob}"} > ${maxAgeSeconds} or (absent(kube_cronjob_status_last_successful_time{${data}, cronjob="${cronJob}"}) and on() (time() - kube_cronjob_created{${data}, cronjob="${cronJob}"} > ${maxAgeSeconds}))`,
      for: '0m',
      severity: 'critical',
      summary: 'No PostgreSQL backup has succeeded on schedule',
      description: 'The last complete logical backup is older than its schedule allows.',
      runbook: [
        `The last run: \`kubectl -n ${namespaces.data} get jobs -l app.kubernetes.io/name=${cronJob}\` and its log.`,
        "A full backup volume: lower `keep` or grow `postgres.logicalBackup.storage.size`. See the README's Backups section to run one by hand.",
      ],
    });
  }
  if (installation.certificate) {
    const { name, namespace } = installation.certificate;
    const selector = `name="${name}", namespace="${namespace}"`;
    prefectRules.push(
      {
        alert: 'PrefectCertificateExpiringSoon',
        expr: `certmanager_certificate_expiration_timestamp_seconds{${selector}} - time() < ${CERTIFICATE_WARNING_DAYS} * 86400`,
        for: '1h',
        severity: 'critical',
        summary: `The certificate of api and app expires in less than ${CERTIFICATE_WARNING_DAYS} days`,
        description: 'cert-manager renews well before this: renewal has been failing.',
        runbook: [
          `\`kubectl -n ${namespace} describe certificate ${name}\`, then its CertificateRequest and (ACME) Order and Challenge: DNS-01 credentials, HTTP-01 reachability, rate limits.`,
          "cert-manager's log: `kubectl -n <cert-manager namespace> logs deploy/cert-manager`.",
        ],
      },
      {
        alert: 'PrefectCertificateNotReady',
        expr: `certmanager_certificate_ready_status{${selector}, condition="False"} == 1`,
        for: '30m',
        severity: 'warning',
        summary: 'The certificate of api and app is not ready',
        description: 'cert-manager cannot issue or renew it; the gateway keeps serving the last certificate until it expires.',
        runbook: [`\`kubectl -n ${namespace} describe certificate ${name}\` names the failing step.`],
      },
    );
  }
  if (prefectRules.length > 0) groups.push({ name: 'prefect-installation', rules: prefectRules });
  return groups;
}

/** The README anchor of an alert's runbook: its heading is the alert's name. */
export function runbookAnchor(alert: string): string {
  return alert.toLowerCase();
}

const PROMQL_WORDS = new Set(['and', 'or', 'unless', 'bool', 'offset']);

/** The metrics an expression reads, by name (what the exporter tests look for). */
export function metricsRead(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\b(?:by|on|without|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  // Identifiers that are not functions (followed by a parenthesis) or operators.
  const names = stripped.match(/\b[a-zA-Z_:][a-zA-Z0-9_:]*\b(?!\s*\()/g) ?? [];
  return [...new Set(names.filter((name) => !PROMQL_WORDS.has(name)))].sort();
}

interface TableRuleOptions {
  /** The exporter's name of a statistic: pg_… (postgres_exporter), cnpg_pg_… (CloudNativePG). */
  readonly metric: (name: string) => string;
  /** The series of this server. */
  readonly selector: string;
  /** The matcher of the Prefect databases. */
  readonly databases: string;
  readonly vacuumScaleFactor: number;
  /** How to read the server's log. */
  readonly log: string;
}

/** Deadlocks, bloat and stale autovacuum: the same statistics, whichever exporter reads them. */
function tableRules(options: TableRuleOptions): AlertRule[] {
  const { metric, selector, databases, vacuumScaleFactor } = options;
  const table = (name: string) => `${metric(`table_maintenance_${name}`)}{${selector}}`;
  return [
    {
      alert: 'PrefectPostgresDeadlocks',
      expr: `increase(${metric('stat_database_deadlocks')}{${selector}, ${databases}}[10m]) > 5`,
      for: '0m',
      severity: 'warning',
      summary: 'Deadlocks in {{ $labels.datname }}',
      description: 'PostgreSQL aborted more than five transactions in ten minutes to break deadlocks.',
      runbook: [
        `The server log names both statements of each deadlock: \`${options.log} | grep -A5 'deadlock detected'\`.`,
        'Report them with the Prefect version; they come from the services, not from the installation.',
      ],
    },
    {
      alert: 'PrefectPostgresTableBloat',
      expr: `${table('dead_rows')} > ${table('live_rows')} and ${table('dead_rows')} > 10000`,
      for: '1h',
      severity: 'warning',
      summary: 'Table {{ $labels.datname }}.{{ $labels.relname }} has more dead rows than live ones',
      description:
        "Dead rows over 100% of the live ones (Prefect's database-maintenance guide): the table and its indexes grow and queries slow down until vacuum catches up.",
      runbook: [
        'Is autovacuum running on it? `SELECT relname, last_autovacuum, autovacuum_count, n_dead_tup FROM pg_stat_user_tables ORDER BY n_dead_tup DESC LIMIT 10;` (in the database).',
        'A long transaction holds the dead rows: `SELECT pid, now() - xact_start, state FROM pg_stat_activity ORDER BY 2 DESC NULLS LAST LIMIT 5;` — end it.',
        "Then `VACUUM (VERBOSE, ANALYZE) <table>;`. Prefect's events tables grow fastest: its retention settings bound them.",
      ],
    },
    {
      alert: 'PrefectPostgresAutovacuumStale',
      expr: `(${table('seconds_since_vacuum')} > 86400 or ${table('seconds_since_vacuum')} < 0) and ${table('dead_rows')} > (50 + ${vacuumScaleFactor} * ${table('live_rows')})`,
      for: '1h',
      severity: 'warning',
      summary: 'Autovacuum has not run on {{ $labels.datname }}.{{ $labels.relname }} for 24 hours although it should',
      description:
        "The table has more dead rows than the autovacuum threshold (50 + scale factor × live rows) and no vacuum for 24 hours (Prefect's database-maintenance guide).",
      runbook: [
        "Autovacuum workers busy elsewhere or blocked: `SELECT pid, query, now() - xact_start FROM pg_stat_activity WHERE backend_type = 'autovacuum worker';`",
        'A transaction or replication slot holding back the horizon: `SELECT slot_name, active FROM pg_replication_slots;` and the longest transactions.',
        'Vacuum it by hand: `VACUUM (VERBOSE, ANALYZE) <table>;`.',
      ],
    },
  ];
}

/** The alert group of a CloudNativePG Cluster: its instances, replication, WAL archiving and backups. */
function cloudNativePgRules(
  cnpg: NonNullable<MonitoredInstallation['cloudnativePg']>,
  namespaces: MonitoredInstallation['namespaces'],
): AlertRule[] {
  const ns = namespaces.data;
  const selector = `namespace="${ns}", workload="${cnpg.cluster}"`;
  const kubectl = `kubectl -n ${ns}`;
  const instances = `${kubectl} get pods -l cnpg.io/cluster=${cnpg.cluster} -L cnpg.io/instanceRole`;
  // The primary's pod, as the Cluster's status names it.
  const primary = `$(${kubectl} get cluster ${cnpg.cluster} -o jsonpath='{.status.currentPrimary}')`;
  const psql = `${kubectl} exec ${primary} -c postgres -- psql`;
  const rules: AlertRule[] = [
    {
      alert: 'PrefectPostgresDown',
      expr: `cnpg_collector_up{${selector}} == 0`,
      for: '5m',
      severity: 'critical',
      summary: 'PostgreSQL instance {{ $labels.pod }} does not answer its exporter',
      description: "CloudNativePG's exporter in the instance cannot connect to its PostgreSQL: the instance is starting, crashed or stuck.",
      runbook: [
        `\`${instances}\` and \`${kubectl} logs {{ $labels.pod }} -c postgres\`: a crash loop, a full disk, an out-of-memory kill.`,
        `The Cluster's own account: \`${kubectl} get cluster ${cnpg.cluster} -o jsonpath='{.status.phase}{"\\n"}{.status.conditions}'\`.`,
      ],
    },
    {
      alert: 'PrefectPostgresNoPrimary',
      expr: `absent(cnpg_pg_replication_in_recovery{${selector}} == 0)`,
      for: '5m',
      severity: 'critical',
      summary: 'No PostgreSQL instance accepts writes',
      description:
        'No scraped instance of the Cluster is a primary: a failover that has not completed, every instance down, or Prometheus not reaching them. Every Prefect service that writes fails.',
      runbook: [
        `\`${instances}\`: which instance should be primary, and why it is not ready.`,
        `\`${kubectl} get cluster ${cnpg.cluster}\`: a failover in progress shows in its phase; the operator's log (\`kubectl -n ${CLOUDNATIVE_PG_NAMESPACE} logs deploy/cloudnative-pg\`) says what it waits for.`,
        `Nothing scraped at all: the PodMonitor ${cnpg.cluster}-instances and the NetworkPolicy prometheus-scrape-${cnpg.cluster} in ${ns}.`,
      ],
    },
    {
      alert: 'PrefectPostgresConnectionsHigh',
      expr: `max by (pod) (sum by (pod) (cnpg_backends_total{${selector}})) > ${Math.floor(cnpg.maxConnections * CONNECTIONS_WARNING_SHARE)}`,
      for: '10m',
      severity: 'warning',
      summary: `PostgreSQL connections on {{ $labels.pod }} above ${CONNECTIONS_WARNING_SHARE * 100}% of max_connections (${cnpg.maxConnections})`,
      description: `max_connections is sized for every service at its maximum replicas; more than ${CONNECTIONS_WARNING_SHARE * 100}% in use means pools larger than planned or connections left open.`,
      runbook: [
        `Who holds them: \`${psql} -c "SELECT usename, datname, application_name, state, count(*) FROM pg_stat_activity GROUP BY 1, 2, 3, 4 ORDER BY 5 DESC;"\`.`,
        'Many `idle in transaction`: a service holds transactions open; restart it and report it.',
        'More replicas than planned (a changed `maxReplicas` or pool size): synthesize again, so that max_connections follows, or lower the pools.',
      ],
    },
    {
      alert: 'PrefectPostgresLockWaits',
      expr: `sum by (pod) (cnpg_backends_waiting_total{${selector}}) > 0`,
      for: '10m',
      severity: 'warning',
      summary: 'Sessions on {{ $labels.pod }} have waited for locks for 10 minutes',
      description:
        'Backends blocked by the locks of others, for ten minutes: a migration, a manual DDL statement or a VACUUM FULL is in the way of the services.',
      runbook: [
        `The blockers: \`${psql} -c "SELECT pid, pg_blocking_pids(pid), state, now() - xact_start AS age, query FROM pg_stat_activity WHERE cardinality(pg_blocking_pids(pid)) > 0;"\`.`,
        'A migration Job: let it finish (its Job has a deadline). A manual statement: end it with `SELECT pg_cancel_backend(<pid>);`.',
      ],
    },
    ...tableRules({
      metric: (name) => `cnpg_pg_${name}`,
      selector,
      databases: `datname=~"${alternatives(cnpg.databases)}"`,
      vacuumScaleFactor: cnpg.vacuumScaleFactor,
      log: `${kubectl} logs ${primary} -c postgres`,
    }),
  ];
  if (cnpg.instances > 1) {
    rules.push(
      {
        alert: 'PrefectPostgresReplicationLagHigh',
        expr: `cnpg_pg_replication_lag{${selector}} > 300`,
        for: '5m',
        severity: 'warning',
        summary: 'Replica {{ $labels.pod }} is more than 5 minutes behind the primary',
        description: 'A failover to this replica would lose the transactions it has not replayed (replication is asynchronous).',
        runbook: [
          `Its log: \`${kubectl} logs {{ $labels.pod }} -c postgres\` — a replica that cannot keep up (disk, CPU) or reconnects in a loop.`,
          `What the primary sends: \`${psql} -c "SELECT application_name, state, write_lag, replay_lag FROM pg_stat_replication;"\`.`,
        ],
      },
      {
        alert: 'PrefectPostgresReplicaMissing',
        expr: `max by (namespace, workload) (cnpg_pg_replication_streaming_replicas{${selector}}) < ${cnpg.instances - 1}`,
        for: '15m',
        severity: 'warning',
        summary: `Fewer than ${cnpg.instances - 1} replicas stream from the primary`,
        description: 'A replica is down or cannot stream: one failure less is tolerated until it is back.',
        runbook: [
          `\`${instances}\`: a pod pending (capacity, a zone without a node), crashing, or rebuilding from the primary.`,
          `\`${kubectl} get cluster ${cnpg.cluster} -o jsonpath='{.status.instancesStatus}'\`.`,
        ],
      },
    );
  }
  if (cnpg.backup) {
    const backup = (name: string) => `barman_cloud_cloudnative_pg_io_${name}{${selector}}`;
    rules.push(
      {
        alert: 'PrefectPostgresWalArchivingFailing',
        expr: `cnpg_pg_stat_archiver_last_failed_time{${selector}} > cnpg_pg_stat_archiver_last_archived_time{${selector}}`,
        for: '15m',
        severity: 'critical',
        summary: 'The primary {{ $labels.pod }} cannot archive its WAL',
        description:
          'The last attempt to archive a WAL segment to the object store failed, and none has succeeded since: point-in-time recovery stops at the last archived segment, and pg_wal fills until the disk does.',
        runbook: [
          `The plugin's sidecar log: \`${kubectl} logs {{ $labels.pod }} -c plugin-barman-cloud\` — credentials (the Secret postgres-backup, or the pods' cloud identity), the bucket's permissions, the endpoint.`,
          `The ObjectStore: \`${kubectl} get objectstore ${cnpg.cluster} -o yaml\`; the Cluster's condition ContinuousArchiving: \`${kubectl} get cluster ${cnpg.cluster} -o jsonpath='{.status.conditions}'\`.`,
        ],
      },
      {
        alert: 'PrefectPostgresBackupFailed',
        expr: `max by (namespace, workload) (${backup('last_failed_backup_timestamp')}) > max by (namespace, workload) (${backup('last_available_backup_timestamp')})`,
        for: '0m',
        severity: 'warning',
        summary: 'The last PostgreSQL base backup failed',
        description: 'A base backup failed after the last one that succeeded.',
        runbook: [
          `\`${kubectl} get backups -l cnpg.io/cluster=${cnpg.cluster}\` and the failed one's \`status.error\`; the plugin sidecar's log on the instance that took it.`,
        ],
      },
    );
    const maxAge = cnpg.backup.maxAgeSeconds;
    if (maxAge !== undefined)
      rules.push({
        alert: 'PrefectPostgresBackupMissing',
        // By the Cluster's labels, those absent() gives: one alert, whichever side holds.
        expr: `time() - max by (namespace, workload) (${backup('last_available_backup_timestamp')}) > ${maxAge} or absent(${backup('last_available_backup_timestamp')})`,
        for: '1h',
        severity: 'critical',
        summary: 'No PostgreSQL base backup has succeeded on schedule',
        description:
          'The newest base backup in the object store is older than its schedule allows, or none is known: recovery would have to replay more WAL, or has nothing to start from.',
        runbook: [
          `The backups and their phases: \`${kubectl} get backups -l cnpg.io/cluster=${cnpg.cluster} --sort-by=.metadata.creationTimestamp\`, then \`${kubectl} describe backup <newest>\`.`,
          `The ScheduledBackup: \`${kubectl} get scheduledbackup ${cnpg.cluster}\`. To take one now, see the README's "Restoring CloudNativePG" section.`,
        ],
      });
  }
  return rules;
}
