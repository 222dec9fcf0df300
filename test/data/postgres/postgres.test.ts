import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DatabaseName, databasesOf } from '../../../lib/catalog/services';
import type { KubernetesObject } from '../../../lib/output/render';
import { parseQuantity } from '../../../lib/core/quantity';
import { buildVariant } from '../../config-variants';
import { build, findObject, objectsOfKind } from '../../helpers';
import {
  containerEnvironment,
  expandKubernetes,
  freePort,
  POSTGRES_BIN,
  POSTGRES_USER,
  RUNUSER,
  run,
  Scratch,
  waitFor,
  type EnvVarJson,
  type TestSecrets,
} from '../data-servers';

/** The Customer-Managed environments' databases, which these tests build. */
const DATABASES = databasesOf('customer-managed') as ReadonlyArray<'events' | 'nebula' | 'orion'>;

/*
 * The init Jobs and postgresql.conf against a real PostgreSQL server (the version installed
 * here, 15; the image is 17, and everything generated must work on both). The Jobs' script is
 * taken from the synthesized manifest and run exactly as the container runs it, with the
 * environment the kubelet would give it; only the server's address differs.
 */

const BIN = POSTGRES_BIN;
const SYSTEM_USER = POSTGRES_USER;
const NAMESPACE = 'prefect-data';
const SUPERUSER = 'postgres';

/** Passwords with every character that could break quoting (the URL test uses orion's, which is URL-safe). */
const PASSWORDS: Record<'events' | 'nebula' | 'orion' | 'superuser', string> = {
  superuser: `su'per "user" $HOME \\ ;--`,
  events: `ev'ents "pw" $(date) \\n; DROP ROLE x; --`,
  nebula: `ne bula:'"\`id\`'"`,
  orion: '0f9a3c5e7b1d2f4a6c8e0a1b3c5d7e9f',
};

const SECRETS: TestSecrets = {
  'prefect-postgres-superuser': { username: SUPERUSER, password: PASSWORDS.superuser },
  ...Object.fromEntries(
    DATABASES.map((database) => [`prefect-postgres-${database}`, { username: database, password: PASSWORDS[database] }]),
  ),
};

interface JobContainer {
  readonly command: readonly string[];
  readonly env: readonly EnvVarJson[];
}

function containerOf(job: KubernetesObject): JobContainer {
  const containers = (job.spec as { template: { spec: { containers: JobContainer[] } } }).template.spec.containers;
  expect(containers).toHaveLength(1);
  return containers[0] as JobContainer;
}

describe('PostgreSQL init Jobs and configuration, on a real server', () => {
  const rendered = build('dev');
  const jobs = new Map<DatabaseName, KubernetesObject>(
    DATABASES.map((database) => {
      const matches = objectsOfKind(rendered, 'Job').filter((job) => job.metadata.name.startsWith(`postgres-init-${database}-`));
      expect(matches, `one init Job for ${database}`).toHaveLength(1);
      return [database, matches[0] as KubernetesObject];
    }),
  );
  const configMap = findObject(rendered, 'ConfigMap', 'postgres-config', NAMESPACE) as KubernetesObject & { data: Record<string, string> };
  /** Each environment's postgresql.conf and its container's memory limit. */
  const serverOf = (environment: string) => {
    const built = environment === 'dev' ? rendered : build(environment);
    const conf = (findObject(built, 'ConfigMap', 'postgres-config', NAMESPACE) as KubernetesObject & { data: Record<string, string> }).data[
      'postgresql.conf'
    ] as string;
    const container = (
      findObject(built, 'StatefulSet', 'postgres', NAMESPACE).spec as {
        template: { spec: { containers: Array<{ resources: { limits: { memory: string } } }> } };
      }
    ).template.spec.containers[0];
    return { conf, memoryLimit: parseQuantity(container?.resources.limits.memory as string) };
  };
  /** `postgres -C shared_memory_size` (MB) per environment, asked of the stopped server. */
  const sharedMemory = new Map<string, number>();
  const scratch = new Scratch();
  let folder = '';
  let port = 0;
  let server: ReturnType<Scratch['start']> | undefined;
  const outputs: string[] = [];

  const psqlEnv = (user: string, password: string): NodeJS.ProcessEnv => ({
    ...process.env,
    PATH: `${BIN}:${process.env.PATH}`,
    PGHOST: '127.0.0.1',
    PGPORT: String(port),
    PGUSER: user,
    PGPASSWORD: password,
    PGCONNECT_TIMEOUT: '5',
  });
  /** Runs SQL and returns the rows as "a|b" lines. */
  const query = (sql: string, database = 'postgres', user = SUPERUSER, password = PASSWORDS.superuser) => {
    const result = run(
      `${BIN}/psql`,
      ['--no-psqlrc', '--quiet', '--set=ON_ERROR_STOP=1', '--tuples-only', '--no-align', '--dbname', database, '--command', sql],
      { env: psqlEnv(user, password) },
    );
    return { ...result, rows: result.stdout.trim().split('\n').filter(Boolean) };
  };

  /** Runs one Job's container command, as the kubelet would, against the test server. */
  const runJob = (database: DatabaseName) => {
    const container = containerOf(jobs.get(database) as KubernetesObject);
    const prefix = `${database.toUpperCase()}_DATABASE`;
    const env = containerEnvironment(container.env, SECRETS, {
      POSTGRES_SUPERUSER_HOST: '127.0.0.1',
      POSTGRES_SUPERUSER_PORT: String(port),
      [`${prefix}_HOST`]: '127.0.0.1',
      [`${prefix}_PORT`]: String(port),
    });
    const command = container.command.map((part) => expandKubernetes(part, env));
    // As the image's user (not root), with the server's client programs on the PATH.
    const result = run(RUNUSER, ['-u', SYSTEM_USER, '--', ...command], {
      env: { PATH: `${BIN}:/usr/bin:/bin`, ...Object.fromEntries(env) },
      timeout: 60_000,
    });
    outputs.push(`$ ${jobs.get(database)?.metadata.name} → exit ${result.status}\n${result.stdout}${result.stderr}`);
    return result;
  };

  beforeAll(async () => {
    folder = scratch.folder('prefect-postgres-', SYSTEM_USER);
    const data = path.join(folder, 'data');
    const passwordFile = path.join(folder, 'superuser-password');
    fs.writeFileSync(passwordFile, PASSWORDS.superuser);
    // The generated files, copied beside the data directory (only their paths differ).
    fs.writeFileSync(path.join(folder, 'postgresql.conf'), configMap.data['postgresql.conf'] as string);
    fs.writeFileSync(path.join(folder, 'pg_hba.conf'), configMap.data['pg_hba.conf'] as string);
    fs.mkdirSync(path.join(folder, 'run'));
    run('chown', ['-R', `${SYSTEM_USER}:`, folder]);
    // As the image's entrypoint initializes an empty volume (POSTGRES_INITDB_ARGS).
    const initdb = run('runuser', [
      '-u',
      SYSTEM_USER,
      '--',
      `${BIN}/initdb`,
      `--pgdata=${data}`,
      `--username=${SUPERUSER}`,
      `--pwfile=${passwordFile}`,
      '--auth-host=scram-sha-256',
      '--auth-local=scram-sha-256',
      '--data-checksums',
      '--encoding=UTF8',
      '--locale=C.UTF-8',
    ]);
    expect(initdb.status, initdb.stderr).toBe(0);
    // The shared memory each environment's settings make the server allocate (max_connections
    // counts in it): a runtime-computed value, which the server reports only while it is stopped.
    for (const environment of ['dev', 'staging', 'prod']) {
      const file = path.join(folder, `postgresql.${environment}.conf`);
      fs.writeFileSync(file, serverOf(environment).conf);
      run('chown', [`${SYSTEM_USER}:`, file]);
      const size = run(
        'runuser',
        [
          '-u',
          SYSTEM_USER,
          '--',
          `${BIN}/postgres`,
          '-c',
          `config_file=${file}`,
          '-c',
          `hba_file=${path.join(folder, 'pg_hba.conf')}`,
          '-C',
          'shared_memory_size',
        ],
        { env: { ...process.env, PGDATA: data } },
      );
      expect(size.status, size.stderr).toBe(0);
      sharedMemory.set(environment, Number(size.stdout.trim()));
    }
    port = await freePort();
    // As the container starts it: PGDATA from the environment, the generated file as config_file.
    server = scratch.start(
      'runuser',
      [
        '-u',
        SYSTEM_USER,
        '--',
        `${BIN}/postgres`,
        '-c',
        `config_file=${path.join(folder, 'postgresql.conf')}`,
        // Paths and the port only; every other setting is the generated file's.
        '-c',
        `hba_file=${path.join(folder, 'pg_hba.conf')}`,
        '-c',
        `unix_socket_directories=${path.join(folder, 'run')}`,
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        `port=${port}`,
      ],
      { ...process.env, PGDATA: data },
    );
    const running = server;
    await waitFor(
      'PostgreSQL accepting connections',
      30,
      () => {
        if (running.exitCode !== null) throw new Error(`PostgreSQL exited (${running.exitCode}):\n${scratch.log(running)}`);
        return run(`${BIN}/pg_isready`, ['-h', '127.0.0.1', '-p', String(port)]).status === 0;
      },
      () => scratch.log(running),
    );
  });

  afterAll(async () => {
    await scratch.cleanup();
    if (outputs.length > 0) console.log(outputs.join('\n'));
  });

  it('starts with the generated postgresql.conf: every setting accepted and applied', () => {
    // The test's command line overrides the paths and the port; nothing else may be refused.
    const errors = query(
      "SELECT name || ': ' || coalesce(error, 'not applied') FROM pg_file_settings WHERE (error IS NOT NULL OR NOT applied) AND name NOT IN ('hba_file', 'unix_socket_directories', 'listen_addresses', 'port')",
    );
    expect(errors.status, errors.stderr).toBe(0);
    expect(errors.rows).toEqual([]);
    const settings = query(
      "SELECT name || '=' || setting FROM pg_settings WHERE name IN ('max_connections', 'shared_buffers', 'password_encryption', 'shared_preload_libraries', 'huge_pages', 'jit', 'wal_compression') ORDER BY name",
    );
    const maxConnections = /^max_connections = (\d+)$/m.exec(configMap.data['postgresql.conf'] as string)?.[1];
    const sharedBuffers = Number(/^shared_buffers = (\d+)MB$/m.exec(configMap.data['postgresql.conf'] as string)?.[1]);
    // shared_buffers is reported in 8 kB pages.
    expect(settings.rows).toEqual([
      'huge_pages=off',
      'jit=off',
      `max_connections=${maxConnections}`,
      'password_encryption=scram-sha-256',
      `shared_buffers=${sharedBuffers * 128}`,
      'shared_preload_libraries=pg_stat_statements,auto_explain',
      'wal_compression=pglz',
    ]);
    outputs.push(`postgresql.conf (dev) applied:\n  ${settings.rows.join('\n  ')}`);
  });

  it("applies Prefect's database flags (reference/database-flags): a statement over 1000 ms logs its plan as JSON", async () => {
    const flags = query(
      "SELECT name || '=' || setting FROM pg_settings WHERE name IN ('auto_explain.log_min_duration', 'auto_explain.log_format', 'auto_explain.log_analyze', 'auto_explain.log_timing', 'autovacuum_vacuum_scale_factor') ORDER BY name",
    );
    expect(flags.status, flags.stderr).toBe(0);
    expect(flags.rows).toEqual([
      'auto_explain.log_analyze=on',
      'auto_explain.log_format=json',
      'auto_explain.log_min_duration=1000',
      'auto_explain.log_timing=off',
      'autovacuum_vacuum_scale_factor=0.1',
    ]);
    const running = server as NonNullable<typeof server>;
    const fast = query('SELECT 1 AS prefect_fast_statement');
    expect(fast.status, fast.stderr).toBe(0);
    const slow = query('SELECT pg_sleep(1.2) AS prefect_slow_statement');
    expect(slow.status, slow.stderr).toBe(0);
    await waitFor(
      'the slow statement plan in the server log',
      10,
      () => scratch.log(running).includes('"Query Text": "SELECT pg_sleep(1.2)'),
      () => scratch.log(running),
    );
    const log = scratch.log(running);
    const plan = log.slice(log.indexOf('plan:'));
    expect(plan).toMatch(/"Query Text": "SELECT pg_sleep\(1\.2\) AS prefect_slow_statement"/);
    expect(plan).toMatch(/"Plan": \{/);
    expect(log).not.toMatch(/"Query Text": "SELECT 1 AS prefect_fast_statement"/);
  });

  it.each(['staging', 'prod'])('accepts the generated postgresql.conf of %s (every setting parsed)', (environment) => {
    const file = path.join(folder, `postgresql.${environment}.conf`);
    // `postgres -C` reads the whole file and fails on an unknown name or an invalid value.
    const result = run(
      'runuser',
      [
        '-u',
        SYSTEM_USER,
        '--',
        `${BIN}/postgres`,
        '-c',
        `config_file=${file}`,
        '-c',
        `hba_file=${path.join(folder, 'pg_hba.conf')}`,
        '-C',
        'max_connections',
      ],
      { env: { ...process.env, PGDATA: path.join(folder, 'data') } },
    );
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+$/);
  });

  it.each(['dev', 'staging', 'prod'])(
    'fits max_connections into the memory limit in %s: shared memory plus work_mem for three sorts of every connection',
    (environment) => {
      const { conf, memoryLimit } = serverOf(environment);
      const setting = (name: string) => Number(new RegExp(`^${name} = (\\d+)`, 'm').exec(conf)?.[1]);
      const shared = sharedMemory.get(environment) as number;
      const workMem = setting('work_mem');
      const connections = setting('max_connections');
      expect(workMem).toBeGreaterThanOrEqual(1);
      const worstCase = shared + connections * 3 * workMem;
      expect(worstCase * 2 ** 20).toBeLessThanOrEqual(memoryLimit);
      outputs.push(
        `${environment}: max_connections=${connections} shared_memory_size=${shared}MB (shared_buffers ${setting('shared_buffers')}MB) + ${connections} x 3 x work_mem ${workMem}MB = ${worstCase}MB of ${memoryLimit / 2 ** 20}MB`,
      );
    },
  );

  it('runs each init Job twice, successfully (idempotent)', () => {
    for (const round of [1, 2]) {
      for (const database of DATABASES) {
        const result = runJob(database);
        expect(result.status, `round ${round}, ${database}:\n${result.stdout}${result.stderr}`).toBe(0);
        expect(result.stdout).toContain(`database ${database}: ready`);
      }
    }
  });

  it('creates the three databases, owned by the superuser the migrations run as, not by the roles', () => {
    const owners = query(
      "SELECT datname || ' owner=' || pg_get_userbyid(datdba) FROM pg_database WHERE datname IN ('events', 'nebula', 'orion') ORDER BY datname",
    );
    expect(owners.rows).toEqual(DATABASES.map((database) => `${database} owner=${SUPERUSER}`));
    outputs.push(`databases:\n  ${owners.rows.join('\n  ')}`);
  });

  it('lets each role connect to its database and nothing more there: no schema, no extension, no temporary table', () => {
    const lines: string[] = [];
    for (const role of DATABASES) {
      const privileges = query(
        `SELECT string_agg(p, ',' ORDER BY p) FROM unnest(ARRAY['CONNECT', 'CREATE', 'TEMPORARY']) AS p WHERE has_database_privilege('${role}', '${role}', p)`,
      );
      expect(privileges.rows).toEqual(['CONNECT']);
      for (const [statement, refusal] of [
        [`CREATE SCHEMA ${role}_own`, /permission denied for database/],
        ['CREATE EXTENSION pgcrypto', /permission denied to create extension|permission denied for database/],
        ['CREATE TEMPORARY TABLE scratch (id int)', /permission denied to create temporary tables/],
        ['CREATE TABLE public.own (id int)', /permission denied for schema public/],
      ] as const) {
        const refused = query(statement, role, role, PASSWORDS[role]);
        expect(refused.status, `${role}: ${statement}`).not.toBe(0);
        expect(refused.stderr, `${role}: ${statement}`).toMatch(refusal);
      }
      lines.push(`${role}: ${privileges.rows[0]} only; CREATE SCHEMA, CREATE EXTENSION pgcrypto, TEMPORARY, CREATE in public refused`);
    }
    outputs.push(lines.join('\n'));
  });

  it('takes over a database that a role owns (an earlier version, an operator bootstrap) and takes back its powers', () => {
    const role: DatabaseName = 'events';
    expect(query(`ALTER DATABASE ${role} OWNER TO ${role}`).status).toBe(0);
    // As the owner, the role could create a schema of its own.
    const before = query(`CREATE SCHEMA mine; DROP SCHEMA mine`, role, role, PASSWORDS[role]);
    expect(before.status, before.stderr).toBe(0);
    expect(runJob(role).status).toBe(0);
    expect(query(`SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '${role}'`).rows).toEqual([SUPERUSER]);
    expect(query('CREATE SCHEMA mine', role, role, PASSWORDS[role]).stderr).toMatch(/permission denied for database/);
    expect(query('SELECT 1', role, role, PASSWORDS[role]).rows).toEqual(['1']);
  });

  it('keeps role passwords out of pg_stat_statements, its file under pg_stat_tmp and the server log', () => {
    const installed = query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    expect(installed.status, installed.stderr).toBe(0);
    // Every Job again (each sets its role's password), now that statements are being recorded.
    for (const database of DATABASES) expect(runJob(database).status).toBe(0);
    const statements = query("SELECT count(*) FROM pg_stat_statements WHERE query ILIKE '%password%'");
    expect(statements.rows).toEqual(['0']);
    // The statistics do record the Jobs' queries: what is missing is missing by the setting.
    expect(Number(query("SELECT count(*) FROM pg_stat_statements WHERE query ILIKE '%pg_catalog.pg_roles%'").rows[0])).toBeGreaterThan(0);
    const secretParts = [PASSWORDS.orion, 'DROP ROLE x', 'ne bula'];
    const data = path.join(folder, 'data');
    const stored = run('grep', [
      '-rlF',
      ...secretParts.flatMap((part) => ['-e', part]),
      path.join(data, 'pg_stat_tmp'),
      path.join(data, 'pg_stat'),
    ]);
    expect(stored.stdout, 'files holding a password').toBe('');
    const log = scratch.log(server as NonNullable<typeof server>);
    for (const part of secretParts) expect(log.includes(part), `the server log holds "${part}"`).toBe(false);
    outputs.push(
      `pg_stat_statements: 0 of ${query('SELECT count(*) FROM pg_stat_statements').rows[0]} statements mention a password; pg_stat_tmp and the log hold none`,
    );
  });

  it('gives each role login and nothing more, and PUBLIC nothing on the databases', () => {
    const roles = query(
      "SELECT rolname || ' login=' || rolcanlogin || ' super=' || rolsuper || ' createdb=' || rolcreatedb || ' createrole=' || rolcreaterole || ' replication=' || rolreplication || ' bypassrls=' || rolbypassrls FROM pg_roles WHERE rolname IN ('events', 'nebula', 'orion') ORDER BY rolname",
    );
    expect(roles.rows).toEqual(
      DATABASES.map((role) => `${role} login=true super=false createdb=false createrole=false replication=false bypassrls=false`),
    );
    const acl = query(
      "SELECT datname || ' ' || datacl::text FROM pg_database WHERE datname IN ('events', 'nebula', 'orion') ORDER BY datname",
    );
    for (const row of acl.rows) expect(row, 'no "=…" (PUBLIC) entry in the ACL').not.toMatch(/[{,]=/);
    const cross = query(
      "SELECT r.rolname || '->' || d.datname FROM pg_roles r CROSS JOIN pg_database d WHERE r.rolname IN ('events', 'nebula', 'orion') AND d.datname IN ('events', 'nebula', 'orion') AND has_database_privilege(r.rolname, d.datname, 'CONNECT') ORDER BY 1",
    );
    expect(cross.rows).toEqual(['events->events', 'nebula->nebula', 'orion->orion']);
    const scram = query(
      "SELECT rolname || ' ' || left(rolpassword, 14) FROM pg_authid WHERE rolname IN ('events', 'nebula', 'orion') ORDER BY rolname",
    );
    expect(scram.rows).toEqual(DATABASES.map((role) => `${role} SCRAM-SHA-256$`));
  });

  it('installs pg_trgm in each database', () => {
    for (const database of DATABASES) {
      const result = query(
        "SELECT extname || ' in ' || current_database() || ', similarity=' || similarity('prefect', 'prefect') FROM pg_extension WHERE extname = 'pg_trgm'",
        database,
        database,
        PASSWORDS[database],
      );
      expect(result.status, result.stderr).toBe(0);
      expect(result.rows).toEqual([`pg_trgm in ${database}, similarity=1`]);
    }
  });

  it('lets each role use what a migration creates as the superuser, without owning it (row-level security applies)', () => {
    const lines: string[] = [];
    for (const role of DATABASES) {
      // As a migration Job does: the superuser, connected to the database, creates the schema.
      const migrated = query(
        [
          'CREATE TABLE flow_run (id bigserial PRIMARY KEY, tenant text NOT NULL, name text)',
          'CREATE SEQUENCE run_number',
          "CREATE FUNCTION next_run_number() RETURNS bigint LANGUAGE sql AS 'SELECT nextval(''run_number'')'",
          'CREATE TABLE tenant_row (tenant text NOT NULL, value int)',
          'ALTER TABLE tenant_row ENABLE ROW LEVEL SECURITY',
          "CREATE POLICY own_tenant ON tenant_row USING (tenant = current_setting('app.tenant', true))",
          "INSERT INTO tenant_row VALUES ('a', 1), ('b', 2)",
        ].join('; '),
        role,
      );
      expect(migrated.status, migrated.stderr).toBe(0);
      const as = (sql: string) => query(sql, role, role, PASSWORDS[role]);
      // Data: SELECT, INSERT, UPDATE, DELETE; the serial's sequence, a sequence, a function.
      expect(as("INSERT INTO flow_run (tenant, name) VALUES ('a', 'first') RETURNING id").rows, role).toEqual(['1']);
      expect(as("UPDATE flow_run SET name = 'renamed' WHERE id = 1 RETURNING name").rows).toEqual(['renamed']);
      expect(as('SELECT count(*) FROM flow_run').rows).toEqual(['1']);
      expect(as("SELECT nextval('run_number'), next_run_number(), setval('run_number', 10)").rows).toEqual(['1|2|10']);
      expect(as('DELETE FROM flow_run RETURNING id').rows).toEqual(['1']);
      // Row-level security holds for the role: it owns none of the tables.
      // (psql 15 prints every statement's result: the SET's tag, then the rows.)
      expect(as("SET app.tenant = 'a'; SELECT string_agg(value::text, ',') FROM tenant_row").rows.at(-1)).toBe('1');
      expect(as('SELECT count(*) FROM tenant_row').rows).toEqual(['0']);
      // Structure stays the superuser's: no DROP, ALTER, TRUNCATE or new objects.
      for (const statement of [
        'DROP TABLE flow_run',
        'ALTER TABLE flow_run ADD COLUMN extra int',
        'TRUNCATE flow_run',
        'ALTER TABLE tenant_row DISABLE ROW LEVEL SECURITY',
        'DROP SEQUENCE run_number',
        'CREATE TABLE mine (id int)',
        'DROP SCHEMA public CASCADE',
      ]) {
        const refused = as(statement);
        expect(refused.status, `${role}: ${statement}`).not.toBe(0);
        expect(refused.stderr, `${role}: ${statement}`).toMatch(/must be owner|permission denied/);
      }
      const owners = query(
        "SELECT string_agg(c.relname || '=' || pg_get_userbyid(c.relowner), ' ' ORDER BY c.relname) FROM pg_class c WHERE c.relname IN ('flow_run', 'run_number', 'tenant_row')",
        role,
      );
      expect(owners.rows).toEqual([`flow_run=${SUPERUSER} run_number=${SUPERUSER} tenant_row=${SUPERUSER}`]);
      const acl = query(
        "SELECT (SELECT relacl::text FROM pg_class WHERE relname = 'flow_run') || ' ' || (SELECT relacl::text FROM pg_class WHERE relname = 'run_number') || ' ' || (SELECT proacl::text FROM pg_proc WHERE proname = 'next_run_number') || ' public owner=' || (SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public')",
        role,
      );
      expect(acl.rows[0]).toContain(`${role}=arwd/${SUPERUSER}`);
      expect(acl.rows[0]).toContain(`${role}=rwU/${SUPERUSER}`);
      expect(acl.rows[0]).toContain(`${role}=X/${SUPERUSER}`);
      expect(acl.rows[0]).toMatch(new RegExp(`public owner=${SUPERUSER}$`));
      // Nothing in the other databases: the connection itself is refused.
      for (const other of DATABASES.filter((database) => database !== role)) {
        expect(query('SELECT count(*) FROM flow_run', other, role, PASSWORDS[role]).status, `${role} -> ${other}`).not.toBe(0);
      }
      lines.push(
        `${role}: tables ${owners.rows[0]}; ${acl.rows[0]}; SELECT/INSERT/UPDATE/DELETE, nextval/setval, EXECUTE ok; RLS: sees tenant a only; DROP/ALTER/TRUNCATE/CREATE refused; other databases refused`,
      );
    }
    outputs.push(`privileges on what the migrations create:\n  ${lines.join('\n  ')}`);
  });

  it('gives the role the same privileges on objects created before the Job ran, when it runs again', () => {
    const role: DatabaseName = 'orion';
    // An installation migrated before the default privileges existed.
    const legacy = query(
      `ALTER DEFAULT PRIVILEGES FOR ROLE ${SUPERUSER} IN SCHEMA public REVOKE ALL ON TABLES FROM ${role}; ALTER DEFAULT PRIVILEGES FOR ROLE ${SUPERUSER} IN SCHEMA public REVOKE ALL ON SEQUENCES FROM ${role}; CREATE TABLE legacy (id serial PRIMARY KEY)`,
      role,
    );
    expect(legacy.status, legacy.stderr).toBe(0);
    expect(query('SELECT count(*) FROM legacy', role, role, PASSWORDS[role]).stderr).toContain('permission denied for table legacy');
    expect(runJob(role).status).toBe(0);
    expect(query('INSERT INTO legacy DEFAULT VALUES RETURNING id', role, role, PASSWORDS[role]).rows).toEqual(['1']);
    const defaults = query(
      "SELECT defaclobjtype::text || ':' || defaclacl::text FROM pg_default_acl WHERE pg_get_userbyid(defaclrole) = current_user AND defaclnamespace = 'public'::regnamespace ORDER BY 1",
      role,
    );
    expect(defaults.rows).toEqual([`S:{${role}=rwU/${SUPERUSER}}`, `f:{${role}=X/${SUPERUSER}}`, `r:{${role}=arwd/${SUPERUSER}}`]);
    outputs.push(`default privileges of ${SUPERUSER} in ${role}, after the rerun: ${defaults.rows.join(' ')}`);
  });

  it('lets each role into its own database and refuses it the others (pg_hba, then the REVOKE)', () => {
    const lines: string[] = [];
    for (const role of DATABASES) {
      const own = query("SELECT current_user || '@' || current_database()", role, role, PASSWORDS[role]);
      expect(own.rows, own.stderr).toEqual([`${role}@${role}`]);
      lines.push(`${role} -> ${role}: connected`);
      for (const other of DATABASES.filter((database) => database !== role)) {
        const refused = query('SELECT 1', other, role, PASSWORDS[role]);
        expect(refused.status).not.toBe(0);
        expect(refused.stderr).toContain(`pg_hba.conf rejects connection for host "127.0.0.1", user "${role}", database "${other}"`);
        lines.push(
          `${role} -> ${other}: refused (${refused.stderr
            .trim()
            .split('\n')
            .pop()
            ?.replace(/^.*FATAL:\s*/, '')})`,
        );
      }
    }
    // Without the pg_hba rules (a plain "scram for all" file), the REVOKE alone still refuses.
    const hba = path.join(folder, 'pg_hba.conf');
    fs.writeFileSync(hba, 'local all all scram-sha-256\nhost all all all scram-sha-256\n');
    expect(query('SELECT pg_reload_conf()').rows).toEqual(['t']);
    for (const role of DATABASES) {
      for (const other of DATABASES.filter((database) => database !== role)) {
        const refused = query('SELECT 1', other, role, PASSWORDS[role]);
        expect(refused.status).not.toBe(0);
        expect(refused.stderr).toContain(`permission denied for database "${other}"`);
        lines.push(
          `${role} -> ${other} (without the pg_hba rules): refused (${refused.stderr
            .trim()
            .split('\n')
            .filter((line) => line.includes('FATAL'))
            .pop()
            ?.replace(/^.*FATAL:\s*/, '')})`,
        );
      }
    }
    fs.writeFileSync(hba, configMap.data['pg_hba.conf'] as string);
    expect(query('SELECT pg_reload_conf()').rows).toEqual(['t']);
    outputs.push(`connections:\n  ${lines.join('\n  ')}`);
  });

  it('composes a working connection URL from the Secret with $(VAR) expansion', () => {
    const container = containerOf(jobs.get('orion') as KubernetesObject);
    const env = containerEnvironment(container.env, SECRETS, { ORION_DATABASE_HOST: '127.0.0.1', ORION_DATABASE_PORT: String(port) });
    const url = env.get('ORION_DATABASE_URL') as string;
    expect(url).toBe(`postgresql+asyncpg://orion:${PASSWORDS.orion}@127.0.0.1:${port}/orion`);
    // libpq reads the same URL without SQLAlchemy's driver suffix.
    const result = run(`${BIN}/psql`, [
      '--no-psqlrc',
      '--tuples-only',
      '--no-align',
      '--command',
      'SELECT current_user',
      url.replace('postgresql+asyncpg://', 'postgresql://'),
    ]);
    expect(result.stdout.trim(), result.stderr).toBe('orion');
  });

  it("changes a role's password when its Secret changes, on the next run", () => {
    const previous = PASSWORDS.nebula;
    const rotated = 'b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6';
    (SECRETS['prefect-postgres-nebula'] as Record<string, string>).password = rotated;
    try {
      expect(runJob('nebula').status).toBe(0);
      expect(query('SELECT current_user', 'nebula', 'nebula', rotated).rows).toEqual(['nebula']);
      expect(query('SELECT current_user', 'nebula', 'nebula', previous).status).not.toBe(0);
    } finally {
      (SECRETS['prefect-postgres-nebula'] as Record<string, string>).password = previous;
      expect(runJob('nebula').status).toBe(0);
    }
  });

  it("runs the same Jobs as a managed service's administrator (CREATEROLE and CREATEDB, not a superuser)", () => {
    const admin = 'platform_admin';
    const password = 'a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4';
    for (const statement of [
      'DROP DATABASE events',
      'DROP DATABASE nebula',
      'DROP DATABASE orion',
      'DROP ROLE events, nebula, orion',
      `CREATE ROLE ${admin} LOGIN CREATEROLE CREATEDB PASSWORD '${password}'`,
    ]) {
      const reset = query(statement);
      expect(reset.status, reset.stderr).toBe(0);
    }
    const saved = { ...(SECRETS['prefect-postgres-superuser'] as Record<string, string>) };
    Object.assign(SECRETS['prefect-postgres-superuser'] as Record<string, string>, { username: admin, password });
    try {
      for (const round of [1, 2]) {
        for (const database of DATABASES) {
          const result = runJob(database);
          expect(result.status, `round ${round}, ${database} as ${admin}:\n${result.stdout}${result.stderr}`).toBe(0);
        }
      }
    } finally {
      Object.assign(SECRETS['prefect-postgres-superuser'] as Record<string, string>, saved);
    }
    const owners = query(
      "SELECT datname || ' owner=' || pg_get_userbyid(datdba) FROM pg_database WHERE datname IN ('events', 'nebula', 'orion') ORDER BY datname",
    );
    expect(owners.rows).toEqual(DATABASES.map((database) => `${database} owner=${admin}`));
    for (const role of DATABASES) {
      expect(query("SELECT extname FROM pg_extension WHERE extname = 'pg_trgm'", role, role, PASSWORDS[role]).rows).toEqual(['pg_trgm']);
      expect(query(`CREATE SCHEMA ${role}_own`, role, role, PASSWORDS[role]).stderr).toMatch(/permission denied for database/);
      const cross = query(
        `SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database WHERE datname IN ('events', 'nebula', 'orion') AND has_database_privilege('${role}', datname, 'CONNECT')`,
      );
      expect(cross.rows).toEqual([role]);
      // The migrations run as this administrator too: the role uses what it creates, and cannot drop it.
      const migrated = query('CREATE TABLE work_queue (id bigserial PRIMARY KEY, payload text)', role, admin, password);
      expect(migrated.status, migrated.stderr).toBe(0);
      expect(query("INSERT INTO work_queue (payload) VALUES ('x') RETURNING id", role, role, PASSWORDS[role]).rows).toEqual(['1']);
      expect(query('DROP TABLE work_queue', role, role, PASSWORDS[role]).stderr).toContain('must be owner of table work_queue');
      expect(query("SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public'", role).rows).toEqual([admin]);
    }
    outputs.push(
      `as ${admin} (not a superuser), twice:\n  ${owners.rows.join('\n  ')}\n  tables created by ${admin}: used by each role, not dropped by it; schema public owned by ${admin}`,
    );
  });

  it("with CloudNativePG, waits for the operator's database, then sets only the privileges", async () => {
    const cloudnative = buildVariant('dev', { postgres: { provider: 'cloudnativepg' } });
    const job = objectsOfKind(cloudnative, 'Job').find((candidate) =>
      candidate.metadata.name.startsWith('postgres-init-events-'),
    ) as KubernetesObject;
    const container = containerOf(job);
    expect(container.command.join(' ')).not.toMatch(/CREATE ROLE|CREATE DATABASE|ALTER ROLE/);
    // The operator has not created the database yet.
    expect(query('DROP DATABASE events').status).toBe(0);
    expect(query('DROP ROLE events').status).toBe(0);
    // Only the address and TLS differ from the pod (this server speaks no TLS; CloudNativePG's does).
    const env = containerEnvironment(container.env, SECRETS, {
      POSTGRES_SUPERUSER_HOST: '127.0.0.1',
      POSTGRES_SUPERUSER_PORT: String(port),
      POSTGRES_SUPERUSER_SSLMODE: 'disable',
    });
    const started = scratch.start(RUNUSER, ['-u', SYSTEM_USER, '--', ...container.command.map((part) => expandKubernetes(part, env))], {
      PATH: `${BIN}:/usr/bin:/bin`,
      ...Object.fromEntries(env),
    });
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(started.exitCode, scratch.log(started)).toBeNull();
    // What the operator does for the managed role and the Database resource.
    for (const statement of [
      `CREATE ROLE events LOGIN PASSWORD '${PASSWORDS.events.replace(/'/g, "''")}'`,
      'CREATE DATABASE events OWNER events',
    ]) {
      const operator = query(statement);
      expect(operator.status, operator.stderr).toBe(0);
    }
    await waitFor(
      'the privileges-only Job to finish',
      20,
      () => started.exitCode !== null,
      () => scratch.log(started),
    );
    expect(started.exitCode, scratch.log(started)).toBe(0);
    outputs.push(
      `CloudNativePG form, ${job.metadata.name}: waited for the operator's database, then exit ${started.exitCode}\n  ${scratch.log(started).trim()}`,
    );
    expect(query("SELECT datacl::text FROM pg_database WHERE datname = 'events'").rows[0]).not.toMatch(/[{,]=/);
    // The Database resource names the superuser as owner; a database the bootstrap gave the role is taken over.
    expect(query("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'events'").rows).toEqual([SUPERUSER]);
    expect(query("SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'public'", 'events').rows).toEqual([SUPERUSER]);
    expect(query("SELECT extname FROM pg_extension WHERE extname = 'pg_trgm'", 'events').rows).toEqual(['pg_trgm']);
    expect(query('CREATE TABLE event (id bigserial PRIMARY KEY)', 'events').status).toBe(0);
    expect(query('INSERT INTO event DEFAULT VALUES RETURNING id', 'events', 'events', PASSWORDS.events).rows).toEqual(['1']);
    expect(query('DROP TABLE event', 'events', 'events', PASSWORDS.events).stderr).toContain('must be owner of table event');
  });

  it("fails, without touching the server, when the role's password is empty", () => {
    const previous = SECRETS['prefect-postgres-events'] as Record<string, string>;
    const saved = previous.password as string;
    previous.password = '';
    try {
      const result = runJob('events');
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain('EVENTS_DATABASE_PASSWORD: is empty');
    } finally {
      previous.password = saved;
    }
  });
});
