/*
 * The logical backup of prod (postgres.logicalBackup), on real PostgreSQL servers: the CronJob's
 * script, run as its container runs it, dumps every database of a server that the init Jobs set
 * up and "migrations" filled; its retention keeps the newest ones; and the restore that the
 * README gives (restoreCommands), run against a fresh server after its init Jobs, brings the
 * data back, usable by each service's role with the privileges it had.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKUP_NAME, restoreCommands } from '../../../lib/data/postgres/logical-backup';
import { build, findObject } from '../../helpers';
import { POSTGRES_BIN, POSTGRES_USER, run, Scratch, startPostgres } from '../data-servers';
import { DATABASES, initJobContainers, type JobContainer, postgresTestSecrets, runJobContainer } from './postgres-fixtures';

const { superuserPassword: SUPERUSER_PASSWORD, passwords: PASSWORDS, secrets: SECRETS } = postgresTestSecrets();

const rendered = build('prod');
const cronJob = findObject(rendered, 'CronJob', 'postgres-backup', 'prefect-data');
const backupContainer = (cronJob.spec as { jobTemplate: { spec: { template: { spec: { containers: JobContainer[] } } } } }).jobTemplate.spec
  .template.spec.containers[0] as JobContainer;
const initContainers = initJobContainers(rendered);

describe('logical backups and their restore, on real PostgreSQL servers', () => {
  const scratch = new Scratch();
  let source = 0;
  let target = 0;
  let backups = '';
  const outputs: string[] = [];

  /** Runs a container's command as the image's user, against the server on `port`. */
  const runContainer = (container: JobContainer, port: number, overrides: Record<string, string> = {}) =>
    runJobContainer(container, SECRETS, { host: '127.0.0.1', port }, overrides);
  const psql = (port: number, database: string, sql: string, user = 'postgres', password = SUPERUSER_PASSWORD) =>
    run(
      `${POSTGRES_BIN}/psql`,
      ['--no-psqlrc', '--quiet', '--set=ON_ERROR_STOP=1', '--tuples-only', '--no-align', '--dbname', database, '--command', sql],
      {
        env: { ...process.env, PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: user, PGPASSWORD: password, PGCONNECT_TIMEOUT: '5' },
      },
    );
  const initialize = (port: number) => {
    for (const database of DATABASES) {
      const result = runContainer(initContainers.get(database) as JobContainer, port);
      expect(result.status, `init ${database}: ${result.stderr}`).toBe(0);
    }
  };
  const backup = () => runContainer(backupContainer, source, { BACKUP_DIR: backups, BACKUP_KEEP: '2' });
  const complete = () =>
    fs
      .readdirSync(backups)
      .filter((entry) => BACKUP_NAME.test(entry))
      .sort();

  beforeAll(async () => {
    source = (await startPostgres(scratch, scratch.folder('prefect-backup-source-', POSTGRES_USER), SUPERUSER_PASSWORD)).port;
    target = (await startPostgres(scratch, scratch.folder('prefect-backup-target-', POSTGRES_USER), SUPERUSER_PASSWORD)).port;
    backups = scratch.folder('prefect-backups-', POSTGRES_USER);
    initialize(source);
    // What the migrations would create (as the superuser), and what the services write (as their roles).
    for (const database of DATABASES) {
      const migrated = psql(source, database, 'CREATE TABLE flow_run (id bigserial PRIMARY KEY, name text NOT NULL)');
      expect(migrated.status, migrated.stderr).toBe(0);
      const written = psql(
        source,
        database,
        `INSERT INTO flow_run (name) SELECT '${database}-' || n FROM generate_series(1, 500) AS n`,
        database,
        PASSWORDS[database],
      );
      expect(written.status, written.stderr).toBe(0);
    }
  });
  afterAll(async () => {
    await scratch.cleanup();
    if (outputs.length > 0) console.log(outputs.join('\n'));
  });

  it('dumps every database and the roles, without their passwords, into a folder named after its start', () => {
    const result = backup();
    expect(result.status, result.stderr).toBe(0);
    const [first] = complete();
    expect(first).toMatch(BACKUP_NAME);
    const files = fs.readdirSync(path.join(backups, first as string)).sort();
    expect(files).toEqual(['DATABASES', 'globals.sql', ...DATABASES.map((database) => `${database}.dump`)].sort());
    const globals = fs.readFileSync(path.join(backups, first as string, 'globals.sql'), 'utf8');
    expect(globals).toMatch(/CREATE ROLE events;/);
    expect(globals).not.toMatch(/SCRAM-SHA-256|PASSWORD '/);
    for (const password of [...Object.values(PASSWORDS), SUPERUSER_PASSWORD]) expect(globals).not.toContain(password);
    outputs.push(`backup ${first}: ${files.join(', ')}; ${result.stdout.trim()}`);
  });

  it('keeps the newest BACKUP_KEEP complete backups and never leaves a partial one', async () => {
    fs.mkdirSync(path.join(backups, '.partial-20260101T000000Z'));
    for (let round = 0; round < 2; round++) {
      await new Promise((resolve) => setTimeout(resolve, 1100)); // a new second: a new name
      const result = backup();
      expect(result.status, result.stderr).toBe(0);
    }
    expect(complete()).toHaveLength(2);
    expect(fs.readdirSync(backups).filter((entry) => entry.startsWith('.partial-'))).toEqual([]);
  });

  it('restores the newest backup into a fresh server, with the data and each role’s privileges', () => {
    initialize(target);
    const newest = path.join(backups, complete().at(-1) as string);
    const env = {
      ...process.env,
      PATH: `${POSTGRES_BIN}:${process.env.PATH}`,
      PGHOST: '127.0.0.1',
      PGPORT: String(target),
      PGUSER: 'postgres',
      PGPASSWORD: SUPERUSER_PASSWORD,
    };
    for (const command of restoreCommands(DATABASES, newest)) {
      const restored = run('bash', ['-c', command], { env });
      expect(restored.status, `${command}\n${restored.stderr}`).toBe(0);
    }
    for (const database of DATABASES) {
      const password = PASSWORDS[database] as string;
      expect(psql(target, database, 'SELECT count(*), min(name) FROM flow_run', database, password).stdout.trim()).toBe(
        `500|${database}-1`,
      );
      // The role writes again, the sequence carries on, and the table still belongs to the superuser.
      expect(
        psql(target, database, "INSERT INTO flow_run (name) VALUES ('after-restore') RETURNING id", database, password).stdout.trim(),
      ).toBe('501');
      expect(psql(target, database, "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'flow_run'").stdout.trim()).toBe(
        'postgres',
      );
      expect(psql(target, database, 'DROP TABLE flow_run', database, password).stderr).toContain('must be owner of table flow_run');
    }
    outputs.push(
      `restored ${path.basename(newest)} into a fresh server: ${DATABASES.map((database) => `${database} 500 rows`).join(', ')}`,
    );
  });
});
