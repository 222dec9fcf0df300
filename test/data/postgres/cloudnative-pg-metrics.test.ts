/*
 * CloudNativePG's exporter on the CloudNativePG variant of prod, with the operator's own code: the
 * instance manager's pieces built from the cloudnative-pg Go module at the version the pinned chart
 * installs (tools/go/cloudnative-pg-instance). A real PostgreSQL runs with the pg_hba.conf and
 * pg_ident.conf that CloudNativePG renders from the generated Cluster; the instance manager's code
 * creates the exporter's role; the databases and roles are made as the operator makes them, then the
 * generated init Jobs run. The exporter, with CloudNativePG's default queries (the
 * cnpg-default-monitoring ConfigMap of the same module) and the Cluster's custom queries, must log in,
 * run every query in every database without an error, and expose every cnpg_* metric the alert rules
 * read. The operator's own Pod for an instance must be selected by the PodMonitor and the
 * NetworkPolicy and carry the metrics port they name, and the names the PodMonitor uses (the CA
 * Secret, the read-write Service) are the ones the operator derives. (The Barman Cloud plugin's
 * backup metrics come from the plugin's own process: not here.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOUDNATIVE_PG_METRICS_PORT, CLOUDNATIVE_PG_METRICS_ROLE } from '../../../lib/data/postgres/cloudnative-pg';
import { metricsRead } from '../../../lib/monitoring/alert-rules';
import { buildVariant, VARIANTS } from '../../config-variants';
import { findObject } from '../../helpers';
import { toolModuleVersion, toolPath } from '../../real-tools/tools';
import { exposedMetrics, freePort, POSTGRES_BIN, POSTGRES_USER, RUNUSER, run, Scratch, scrapeWhen, startPostgres } from '../data-servers';
import { DATABASES, initJobContainers, postgresTestSecrets, runJobContainer } from './postgres-fixtures';

const { superuserPassword: SUPERUSER_PASSWORD, passwords: PASSWORDS, secrets: SECRETS } = postgresTestSecrets();

const rendered = buildVariant('prod', VARIANTS.cloudnativePg);
const cluster = findObject(rendered, 'Cluster', 'postgres', 'prefect-data');
const clusterSpec = cluster.spec as {
  bootstrap: { initdb: { database: string; owner: string } };
  monitoring: { tls: { enabled: boolean }; customQueriesConfigMap: { name: string; key: string }[] };
};
const customQueries = clusterSpec.monitoring.customQueriesConfigMap.map(
  ({ name, key }) =>
    (findObject(rendered, 'ConfigMap', name, 'prefect-data') as unknown as { data: Record<string, string> }).data[key] as string,
);
const rules = (
  findObject(rendered, 'PrometheusRule', 'prefect-alerts', 'prefect') as unknown as { spec: { groups: { rules: { expr: string }[] }[] } }
).spec.groups.flatMap((group) => group.rules);
const initContainers = initJobContainers(rendered);

/** The built-in collectors that read fixed paths of an instance's pod (CloudNativePG's specs.PgWalPath). */
const POD_PATH_COLLECTORS = ['Collect.PgWALArchiveStats', 'Collect.PGWalSettings'];

/** The cnpg-default-monitoring ConfigMap's queries, from the module the tool is built on. */
function defaultMonitoringQueries(): string {
  const module = path.join(__dirname, '..', '..', '..', 'tools', 'go', 'cloudnative-pg-instance');
  const listed = run('go', ['-C', module, 'list', '-m', '-f', '{{.Dir}}', 'github.com/cloudnative-pg/cloudnative-pg'], {
    env: { ...process.env, GOFLAGS: '-mod=readonly' },
  });
  if (listed.status !== 0) throw new Error(`go list in ${module}: ${listed.stderr}`);
  const text = fs.readFileSync(path.join(listed.stdout.trim(), 'config', 'manager', 'default-monitoring.yaml'), 'utf8');
  // The ConfigMap's data.queries, a literal block indented by four spaces.
  const block = text.split(/^ {2}queries: \|\n/m)[1];
  if (!block) throw new Error('no data.queries in default-monitoring.yaml');
  return block
    .split('\n')
    .map((line) => line.replace(/^ {4}/, ''))
    .join('\n');
}

describe("CloudNativePG's exporter on the CloudNativePG variant of prod, with the operator's code", () => {
  const scratch = new Scratch();
  let port = 0;
  let folder = '';
  let metrics = '';
  let exporterLog = () => '';
  const instance = (args: readonly string[], env: NodeJS.ProcessEnv = {}) =>
    run(RUNUSER, ['-u', POSTGRES_USER, '--', toolPath('cloudnative-pg-instance'), ...args], {
      env: { PATH: '/usr/bin:/bin', ...env },
      timeout: 60_000,
    });
  const asSuperuser = (database: string, sql: string) =>
    run(
      `${POSTGRES_BIN}/psql`,
      ['--no-psqlrc', '--quiet', '--set=ON_ERROR_STOP=1', '--tuples-only', '--no-align', '--dbname', database, '--command', sql],
      { env: { PATH: '/usr/bin:/bin', PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: 'postgres', PGPASSWORD: SUPERUSER_PASSWORD } },
    );

  beforeAll(async () => {
    // The Go module's folder (go list) is read by the test process; its tool runs as the server's user.
    const defaults = defaultMonitoringQueries();
    folder = scratch.folder('prefect-cnpg-', POSTGRES_USER);
    const file = (name: string) => path.join(folder, name);
    fs.writeFileSync(file('cluster.json'), JSON.stringify(cluster));
    fs.writeFileSync(file('default-queries.yaml'), defaults);
    for (const [index, queries] of customQueries.entries()) fs.writeFileSync(file(`custom-queries-${index}.yaml`), queries);
    run('chown', ['-R', `${POSTGRES_USER}:`, folder]);
    const hba = instance(['hba', '--cluster', file('cluster.json'), '--user', POSTGRES_USER, '--out', folder]);
    expect(hba.status, hba.stderr).toBe(0);
    port = (
      await startPostgres(scratch, folder, SUPERUSER_PASSWORD, [
        `hba_file=${file('pg_hba.conf')}`,
        `ident_file=${file('pg_ident.conf')}`,
        'shared_preload_libraries=pg_stat_statements',
      ])
    ).port;
    const socket = { PGHOST: file('run'), PGPORT: String(port) };
    const role = instance(['setup-role'], socket);
    expect(role.status, role.stderr).toBe(0);

    // What the operator declares: the bootstrap database owned by its role, the others by the
    // superuser (Database resources), and the managed roles with their passwords.
    const { database: bootstrap, owner } = clusterSpec.bootstrap.initdb;
    for (const statement of [
      ...DATABASES.map((database) => `CREATE ROLE ${database} LOGIN PASSWORD '${PASSWORDS[database]}'`),
      `CREATE DATABASE ${bootstrap} OWNER ${owner}`,
      ...DATABASES.filter((database) => database !== bootstrap).map((database) => `CREATE DATABASE ${database} OWNER postgres`),
    ]) {
      const declared = asSuperuser('postgres', statement);
      expect(declared.status, declared.stderr).toBe(0);
    }
    // The init Jobs, as the superuser over the instance's socket (peer authentication, CloudNativePG's
    // "local" map), in their privileges-only form.
    for (const [database, container] of initContainers) {
      const result = runJobContainer(container, SECRETS, { host: file('run'), port });
      expect(result.status, `init ${database}: ${result.stderr}`).toBe(0);
    }
    // A table with dead rows in one database, as the services leave them.
    const churn = asSuperuser(
      'events',
      'CREATE TABLE churn (id int); INSERT INTO churn SELECT generate_series(1, 3000); DELETE FROM churn WHERE id > 1000; ANALYZE churn;',
    );
    expect(churn.status, churn.stderr).toBe(0);

    const listen = await freePort();
    const queryFiles = [file('default-queries.yaml'), ...customQueries.map((_, index) => file(`custom-queries-${index}.yaml`))];
    const exporter = scratch.start(
      RUNUSER,
      [
        '-u',
        POSTGRES_USER,
        '--',
        toolPath('cloudnative-pg-instance'),
        'metrics',
        '--cluster',
        file('cluster.json'),
        '--pgdata',
        file('data'),
        '--listen',
        `127.0.0.1:${listen}`,
        '--queries',
        queryFiles.join(','),
      ],
      { PATH: '/usr/bin:/bin', ...socket },
    );
    exporterLog = () => scratch.log(exporter);
    metrics = await scrapeWhen(
      scratch,
      exporter,
      `http://127.0.0.1:${listen}/metrics`,
      "CloudNativePG's exporter answering with cnpg_collector_up 1",
      60,
      (text) => /^cnpg_collector_up\{cluster="postgres"\} 1$/m.test(text) && /^cnpg_pg_table_maintenance_dead_rows\{/m.test(text),
    );
  });
  afterAll(() => scratch.cleanup());

  it('is the operator version the pinned chart installs, with TLS on the metrics port', () => {
    expect(toolModuleVersion('cloudnative-pg-instance', 'github.com/cloudnative-pg/cloudnative-pg')).toBe('v1.30.0');
    expect(clusterSpec.monitoring.tls.enabled).toBe(true);
  });

  it("scrapes with the names the operator derives from the Cluster (its CA Secret, its read-write Service, its exporter's role)", () => {
    const derived = instance(['names', '--cluster', path.join(folder, 'cluster.json')]);
    expect(derived.status, derived.stderr).toBe(0);
    const names = JSON.parse(derived.stdout) as Record<string, string>;
    const monitor = findObject(rendered, 'PodMonitor', 'postgres-instances', 'prefect-data').spec as {
      podMetricsEndpoints: {
        port: string;
        scheme: string;
        tlsConfig: { ca: { secret: { name: string; key: string } }; serverName: string };
      }[];
    };
    const endpoint = monitor.podMetricsEndpoints[0];
    expect(endpoint?.scheme).toBe('https');
    expect(endpoint?.tlsConfig).toEqual({
      ca: { secret: { name: names.serverCASecret, key: 'ca.crt' } },
      serverName: names.readWriteService,
    });
    expect(names.metricsRole).toBe(CLOUDNATIVE_PG_METRICS_ROLE);
    expect(names.applicationDatabase).toBe(clusterSpec.bootstrap.initdb.database);
  });

  it("selects the operator's instance pods and reaches their metrics port (the PodMonitor, the NetworkPolicy)", () => {
    const created = instance(['instance-pod', '--cluster', path.join(folder, 'cluster.json')]);
    expect(created.status, created.stderr).toBe(0);
    const pod = JSON.parse(created.stdout) as {
      metadata: { labels: Record<string, string> };
      spec: { containers: { name: string; ports?: { name: string; containerPort: number }[] }[] };
    };
    const matches = (selector: Record<string, string>) =>
      Object.entries(selector).every(([key, value]) => pod.metadata.labels[key] === value);
    const monitor = findObject(rendered, 'PodMonitor', 'postgres-instances', 'prefect-data').spec as {
      selector: { matchLabels: Record<string, string> };
      podMetricsEndpoints: { port: string }[];
    };
    expect(matches(monitor.selector.matchLabels), JSON.stringify(pod.metadata.labels)).toBe(true);
    const ports = pod.spec.containers.flatMap((container) => container.ports ?? []);
    expect(ports).toContainEqual(
      expect.objectContaining({ name: monitor.podMetricsEndpoints[0]?.port, containerPort: CLOUDNATIVE_PG_METRICS_PORT }),
    );
    const policy = findObject(rendered, 'NetworkPolicy', 'prometheus-scrape-postgres', 'prefect-data').spec as {
      podSelector: { matchLabels: Record<string, string> };
      ingress: { ports: { port: number }[] }[];
    };
    expect(matches(policy.podSelector.matchLabels)).toBe(true);
    expect(policy.ingress[0]?.ports).toEqual([{ protocol: 'TCP', port: CLOUDNATIVE_PG_METRICS_PORT }]);
    // Out of the mesh, as the Cluster's inherited labels say.
    expect(pod.metadata.labels['sidecar.istio.io/inject']).toBe('false');
  });

  it('runs every query in every database without an error', () => {
    // The built-in collector's errors: only those of the two collectors that read the pod's own
    // paths (/var/lib/postgresql/data/pgdata/pg_wal), which this machine does not have.
    const failing = [...metrics.matchAll(/^cnpg_collector_collection_errors_total\{collector="([^"]+)"\} [1-9]/gm)].map(
      (match) => match[1],
    );
    expect(failing.filter((collector) => !POD_PATH_COLLECTORS.includes(collector as string))).toEqual([]);
    expect(metrics).toMatch(/^cnpg_collector_up\{cluster="postgres"\} 1$/m);
    // The queries' own error gauge, and no error counted by query.
    expect(metrics).toMatch(/^cnpg_last_error 0$/m);
    expect(metrics).not.toMatch(/^cnpg_errors_total\{/m);
    expect(exporterLog()).not.toMatch(/permission denied|authentication failed|no pg_hba.conf entry|does not exist/i);
  });

  it('exposes every cnpg_* metric the alert rules read', () => {
    const exposed = exposedMetrics(metrics);
    const wanted = [...new Set(rules.flatMap((rule) => metricsRead(rule.expr)).filter((metric) => metric.startsWith('cnpg_')))];
    expect(wanted.length).toBeGreaterThan(8);
    expect(wanted.filter((metric) => !exposed.has(metric))).toEqual([]);
  });

  it('reads the statistics and tables of every Prefect database (the init Jobs grant it CONNECT)', () => {
    for (const database of DATABASES) {
      expect(metrics, database).toMatch(new RegExp(`^cnpg_pg_stat_database_deadlocks\\{datname="${database}"\\}`, 'm'));
      expect(metrics, database).toMatch(new RegExp(`^cnpg_pg_database_size_bytes\\{datname="${database}"\\}`, 'm'));
    }
    expect(metrics).toMatch(/^cnpg_pg_table_maintenance_dead_rows\{datname="events",relname="churn",schemaname="public"\} 2000$/m);
    const connect = asSuperuser(
      'postgres',
      `SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE has_database_privilege('${CLOUDNATIVE_PG_METRICS_ROLE}', datname, 'CONNECT') AND NOT datistemplate`,
    );
    expect(connect.stdout.trim()).toBe(['events', 'nebula', 'orion', 'postgres'].join(','));
  });

  it("gives the exporter's role no table of the databases", () => {
    const asRole = run(
      RUNUSER,
      ['-u', POSTGRES_USER, '--', `${POSTGRES_BIN}/psql`, '--no-psqlrc', '--dbname', 'events', '--command', 'SELECT count(*) FROM churn'],
      { env: { PATH: '/usr/bin:/bin', PGHOST: path.join(folder, 'run'), PGPORT: String(port), PGUSER: CLOUDNATIVE_PG_METRICS_ROLE } },
    );
    expect(asRole.stderr).toMatch(/permission denied/);
  });
});
