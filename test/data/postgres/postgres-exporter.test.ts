/*
 * The PostgreSQL exporter of prod (monitoring.enabled), on a real PostgreSQL server and with the
 * real postgres_exporter of the image's version: the server runs with the generated pg_hba.conf
 * and pg_ident.conf, the init Jobs create the exporter's role, and the exporter, run as the pod's
 * operating-system user with the sidecar's arguments, logs in over the socket without a password,
 * reads every database, and exposes every metric the alert rules use. Nobody logs in as the role
 * over TCP, and the role cannot read the databases' tables.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS_ROLE, POSTGRES_EXPORTER, exporterDataSource } from '../../../lib/data/postgres/postgres-exporter';
import { metricsRead } from '../../../lib/monitoring/alert-rules';
import { build, findObject } from '../../helpers';
import { toolModuleVersion, toolPath } from '../../real-tools/tools';
import {
  containerEnvironment,
  freePort,
  POSTGRES_BIN,
  POSTGRES_USER,
  RUNUSER,
  run,
  Scratch,
  startPostgres,
  scrapeWhen,
  exposedMetrics,
  type EnvVarJson,
} from '../data-servers';
import { DATABASES, initJobContainers, postgresTestSecrets, runJobContainer } from './postgres-fixtures';

const { superuserPassword: SUPERUSER_PASSWORD, secrets: SECRETS } = postgresTestSecrets();

interface Container {
  readonly name: string;
  readonly image: string;
  readonly command: readonly string[];
  readonly args: readonly string[];
  readonly env: readonly EnvVarJson[];
}

const rendered = build('prod');
const config = (findObject(rendered, 'ConfigMap', 'postgres-config', 'prefect-data') as unknown as { data: Record<string, string> }).data;
const podSpec = (
  findObject(rendered, 'StatefulSet', 'postgres', 'prefect-data').spec as { template: { spec: { containers: Container[] } } }
).template.spec;
const sidecar = podSpec.containers.find((container) => container.name === 'metrics') as Container;
const rules = (
  findObject(rendered, 'PrometheusRule', 'prefect-alerts', 'prefect') as unknown as { spec: { groups: { rules: { expr: string }[] }[] } }
).spec.groups.flatMap((group) => group.rules);
const initContainers = initJobContainers(rendered);

describe('the PostgreSQL exporter of prod, on a real server', () => {
  const scratch = new Scratch();
  let port = 0;
  let folder = '';
  let metrics = '';
  let exporterLog = () => '';
  let listen = 0;

  const psql = (database: string, sql: string, connection: Record<string, string>) =>
    run(
      `${POSTGRES_BIN}/psql`,
      ['--no-psqlrc', '--quiet', '--set=ON_ERROR_STOP=1', '--tuples-only', '--no-align', '--dbname', database, '--command', sql],
      { env: { PATH: '/usr/bin:/bin', PGPORT: String(port), PGCONNECT_TIMEOUT: '5', ...connection } },
    );
  const asSuperuser = (database: string, sql: string) =>
    psql(database, sql, { PGHOST: '127.0.0.1', PGUSER: 'postgres', PGPASSWORD: SUPERUSER_PASSWORD });

  beforeAll(async () => {
    folder = scratch.folder('prefect-exporter-', POSTGRES_USER);
    for (const file of ['pg_hba.conf', 'pg_ident.conf', 'queries.yaml']) {
      fs.writeFileSync(path.join(folder, file), config[file] as string);
    }
    run('chown', ['-R', `${POSTGRES_USER}:`, folder]);
    port = (
      await startPostgres(scratch, folder, SUPERUSER_PASSWORD, [
        `hba_file=${path.join(folder, 'pg_hba.conf')}`,
        `ident_file=${path.join(folder, 'pg_ident.conf')}`,
      ])
    ).port;
    for (const [database, container] of initContainers) {
      const result = runJobContainer(container, SECRETS, { host: '127.0.0.1', port });
      expect(result.status, `init ${database}: ${result.stderr}`).toBe(0);
    }
    // A table with dead rows in one database, as the services leave them.
    const churn = asSuperuser(
      'events',
      'CREATE TABLE churn (id int); INSERT INTO churn SELECT generate_series(1, 3000); DELETE FROM churn WHERE id > 1000; ANALYZE churn;',
    );
    expect(churn.status, churn.stderr).toBe(0);

    listen = await freePort();
    const socket = path.join(folder, 'run');
    const args = sidecar.args.map((arg) =>
      arg.startsWith('--web.listen-address=')
        ? `--web.listen-address=127.0.0.1:${listen}`
        : arg.startsWith('--extend.query-path=')
          ? `--extend.query-path=${path.join(folder, 'queries.yaml')}`
          : arg,
    );
    // The sidecar's data source with this test's socket folder and port (the pod's is /var/run/postgresql, 5432).
    const dataSource = exporterDataSource(socket).replace('@/', `@:${port}/`);
    const exporter = scratch.start(RUNUSER, ['-u', POSTGRES_USER, '--', toolPath('postgres_exporter'), ...args], {
      PATH: '/usr/bin:/bin',
      DATA_SOURCE_NAME: dataSource,
    });
    exporterLog = () => scratch.log(exporter);
    metrics = await scrapeWhen(
      scratch,
      exporter,
      `http://127.0.0.1:${listen}/metrics`,
      'postgres_exporter answering with pg_up 1',
      30,
      (text) => /^pg_up 1$/m.test(text) && /^pg_table_maintenance_dead_rows\{/m.test(text),
    );
  });
  afterAll(() => scratch.cleanup());

  it('runs the image version the tools pin, connecting the way the pod does', () => {
    expect(sidecar.image).toBe(`${POSTGRES_EXPORTER.image}:${POSTGRES_EXPORTER.version}`);
    expect(toolModuleVersion('postgres-exporter', 'github.com/prometheus-community/postgres_exporter')).toBe(POSTGRES_EXPORTER.version);
    expect(containerEnvironment(sidecar.env, {}).get('DATA_SOURCE_NAME')).toBe(exporterDataSource('/var/run/postgresql'));
  });

  it("answers its liveness probe's path", async () => {
    const probe = (sidecar as unknown as { livenessProbe: { httpGet: { path: string } } }).livenessProbe.httpGet.path;
    expect((await fetch(`http://127.0.0.1:${listen}${probe}`)).status).toBe(200);
  });

  it('exposes every PostgreSQL metric the alert rules read', () => {
    const exposed = exposedMetrics(metrics);
    const wanted = [...new Set(rules.flatMap((rule) => metricsRead(rule.expr)).filter((metric) => metric.startsWith('pg_')))];
    expect(wanted.length).toBeGreaterThan(4);
    expect(wanted.filter((metric) => !exposed.has(metric))).toEqual([]);
  });

  it('reads the statistics of every Prefect database (the bloat and autovacuum alerts see them)', () => {
    for (const database of DATABASES)
      expect(metrics, database).toMatch(new RegExp(`^pg_stat_database_deadlocks\\{[^}]*datname="${database}"`, 'm'));
    expect(metrics).toMatch(/^pg_table_maintenance_dead_rows\{[^}]*datname="events"[^}]*relname="churn"[^}]*\} 2000$/m);
    expect(exporterLog()).not.toMatch(/permission denied|authentication failed|no pg_hba.conf entry/i);
  });

  it('lets the role in over the socket only, with no password, and gives it no table', () => {
    const socket = path.join(folder, 'run');
    // Over TCP, even with a password it does not have: refused by pg_hba.
    const tcp = psql('postgres', 'SELECT 1', { PGHOST: '127.0.0.1', PGUSER: METRICS_ROLE, PGPASSWORD: 'anything' });
    expect(tcp.status).not.toBe(0);
    expect(tcp.stderr).toMatch(/pg_hba\.conf rejects|password authentication failed/);
    // Over the socket, as the pod's user: in, and a reader of statistics only.
    const asRole = (sql: string) =>
      run(
        RUNUSER,
        [
          '-u',
          POSTGRES_USER,
          '--',
          `${POSTGRES_BIN}/psql`,
          '--no-psqlrc',
          '--tuples-only',
          '--no-align',
          '--dbname',
          'events',
          '--command',
          sql,
        ],
        {
          env: { PATH: '/usr/bin:/bin', PGHOST: socket, PGPORT: String(port), PGUSER: METRICS_ROLE },
        },
      );
    expect(asRole('SELECT count(*) > 0 FROM pg_stat_activity').stdout.trim()).toBe('t');
    expect(asRole('SELECT count(*) FROM churn').stderr).toMatch(/permission denied/);
    expect(asRole('CREATE TABLE intruder (id int)').stderr).toMatch(/permission denied/);
    // The superuser cannot be reached this way: the map names only the exporter's role.
    const asSuper = run(
      RUNUSER,
      ['-u', POSTGRES_USER, '--', `${POSTGRES_BIN}/psql`, '--no-psqlrc', '--dbname', 'postgres', '--command', 'SELECT 1'],
      {
        env: { PATH: '/usr/bin:/bin', PGHOST: socket, PGPORT: String(port), PGUSER: 'postgres', PGPASSWORD: '' },
      },
    );
    expect(asSuper.status).not.toBe(0);
  });
});
