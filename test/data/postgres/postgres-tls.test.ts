import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubernetesObject, RenderedEnvironment } from '../../../lib/output/render';
import { buildVariant } from '../../config-variants';
import { findObject, objectsOfKind } from '../../helpers';
import { pythonPath } from '../../real-tools/tools';
import {
  containerEnvironment,
  POSTGRES_BIN,
  POSTGRES_USER,
  run,
  Scratch,
  startPostgres,
  type EnvVarJson,
  type TestSecrets,
} from '../data-servers';

/*
 * An external PostgreSQL with TLS, as a managed service runs it, and the generated clients
 * verifying it: a real PostgreSQL server with a certificate from a CA made here, the services'
 * driver stack (SQLAlchemy and asyncpg, from tools/python/requirements.txt) given a service's
 * generated URL and the CA where the Deployment mounts it, and libpq (psql) as the init Jobs use
 * it. The clients connect with verify-full and are refused when the CA they trust did not sign the
 * server's certificate, or (verify-full) when the name they connect to is not in it.
 */

const BIN = POSTGRES_BIN;
const SYSTEM_USER = POSTGRES_USER;
const SUPERUSER_PASSWORD = '5b1d7c9e3f0a2c4e6a8b0d1f3e5c7a9b';
const ORION_PASSWORD = '0f9a3c5e7b1d2f4a6c8e0a1b3c5d7e9f';
const CA_SECRET = 'rds-ca';
const SECRETS: TestSecrets = {
  'prefect-postgres-orion': { username: 'orion', password: ORION_PASSWORD },
  'prefect-postgres-superuser': { username: 'postgres', password: SUPERUSER_PASSWORD },
  // The server service uses Redis too; nothing connects to it here.
  'prefect-redis-cache': { password: 'unused' },
  'prefect-redis-work': { password: 'unused' },
};

type Spec = Record<string, any>;

const external = (sslMode: string) =>
  buildVariant('dev', { postgres: { provider: 'external', external: { host: 'db.example.com', sslMode, caSecret: CA_SECRET } } });

/** A workload's first container with the files its pod mounts from Secrets: mount path by Secret name. */
function clientOf(rendered: RenderedEnvironment, object: KubernetesObject) {
  const pod = (object.spec as Spec).template.spec;
  const container = pod.containers[0] as { env: EnvVarJson[]; volumeMounts: Array<{ name: string; mountPath: string }> };
  const secretDirectories = new Map<string, string>();
  for (const mount of container.volumeMounts ?? []) {
    const volume = (pod.volumes as Spec[]).find((candidate) => candidate.name === mount.name);
    if (volume?.secret) secretDirectories.set(volume.secret.secretName, mount.mountPath);
  }
  return { env: container.env, secretDirectories, rendered };
}

/** The pod's environment with the Secret-mounted folder of the CA replaced by where the test keeps the file. */
function environmentWithCa(client: ReturnType<typeof clientOf>, caFile: string, host: string, port: number, prefix: string) {
  const env = containerEnvironment(client.env, SECRETS, { [`${prefix}_HOST`]: host, [`${prefix}_PORT`]: String(port) });
  const directory = client.secretDirectories.get(CA_SECRET);
  expect(directory, 'the CA Secret is mounted').toBeDefined();
  // The pod reads the CA where the Secret is mounted; here that file is `caFile`.
  expect(env.get('PGSSLROOTCERT')).toBe(`${directory}/ca.crt`);
  env.set('PGSSLROOTCERT', caFile);
  return env;
}

const CONNECT = `
import asyncio, os, sys
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

async def main():
    engine = create_async_engine(os.environ["ORION_DATABASE_URL"])
    try:
        async with engine.connect() as connection:
            row = (await connection.execute(text("SELECT current_user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"))).one()
            print(f"{row[0]} ssl={row[1]}")
    finally:
        await engine.dispose()

asyncio.run(main())
`;

describe('an external PostgreSQL with TLS, verified by the generated clients (real server, asyncpg, psql)', () => {
  const scratch = new Scratch();
  let folder = '';
  let port = 0;
  const caFile = () => path.join(folder, 'ca.crt');
  const otherCaFile = () => path.join(folder, 'other-ca.crt');

  const openssl = (...args: string[]) => {
    const result = run('openssl', args);
    expect(result.status, result.stderr).toBe(0);
  };

  beforeAll(async () => {
    folder = scratch.folder('prefect-postgres-tls-', SYSTEM_USER);
    const file = (name: string) => path.join(folder, name);
    // The CA that signs the server's certificate, another CA, and the server's certificate for "localhost".
    for (const ca of ['ca', 'other-ca']) {
      openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file(`${ca}.key`));
      openssl(
        'req',
        '-x509',
        '-new',
        '-key',
        file(`${ca}.key`),
        '-subj',
        `/CN=prefect test ${ca}`,
        '-days',
        '2',
        '-out',
        file(`${ca}.crt`),
      );
    }
    openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', file('server.key'));
    openssl('req', '-new', '-key', file('server.key'), '-subj', '/CN=localhost', '-out', file('server.csr'));
    fs.writeFileSync(file('server.ext'), 'subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n');
    openssl(
      'x509',
      '-req',
      '-in',
      file('server.csr'),
      '-CA',
      file('ca.crt'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      file('server.ext'),
      '-out',
      file('server.crt'),
    );
    fs.writeFileSync(file('pg_hba.conf'), 'local all all scram-sha-256\nhostssl all all 127.0.0.1/32 scram-sha-256\n');
    run('chown', ['-R', `${SYSTEM_USER}:`, folder]);
    fs.chmodSync(file('server.key'), 0o600);
    ({ port } = await startPostgres(scratch, folder, SUPERUSER_PASSWORD, [
      `hba_file=${file('pg_hba.conf')}`,
      'ssl=on',
      `ssl_cert_file=${file('server.crt')}`,
      `ssl_key_file=${file('server.key')}`,
    ]));
    const setup = run(
      `${BIN}/psql`,
      [
        '-v',
        'ON_ERROR_STOP=1',
        '-h',
        file('run'),
        '-p',
        String(port),
        '-U',
        'postgres',
        '-d',
        'postgres',
        '-c',
        `CREATE ROLE orion LOGIN PASSWORD '${ORION_PASSWORD}'`,
        '-c',
        'CREATE DATABASE orion OWNER orion',
      ],
      { env: { ...process.env, PGPASSWORD: SUPERUSER_PASSWORD } },
    );
    expect(setup.status, setup.stderr).toBe(0);
  });

  afterAll(async () => {
    await scratch.cleanup();
  });

  /** The `server` service connects with its generated URL, the CA file given, to `host`. */
  const serviceConnects = (rendered: RenderedEnvironment, ca: string, host: string) => {
    const client = clientOf(rendered, findObject(rendered, 'Deployment', 'server', 'prefect'));
    const env = environmentWithCa(client, ca, host, port, 'ORION_DATABASE');
    return run(pythonPath(), ['-c', CONNECT], { env: { PATH: process.env.PATH, HOME: folder, ...Object.fromEntries(env) } });
  };

  /** The orion init Job's psql (libpq), with the Job's sslmode and CA. */
  const initJobConnects = (rendered: RenderedEnvironment, ca: string, host: string) => {
    const job = objectsOfKind(rendered, 'Job').find((object) =>
      object.metadata.name.startsWith('postgres-init-orion-'),
    ) as KubernetesObject;
    const client = clientOf(rendered, job);
    const env = environmentWithCa(client, ca, host, port, 'POSTGRES_SUPERUSER');
    return run(
      `${BIN}/psql`,
      [
        '-X',
        '-At',
        '-c',
        'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
        `host=${env.get('POSTGRES_SUPERUSER_HOST')} port=${env.get('POSTGRES_SUPERUSER_PORT')} user=${env.get('POSTGRES_SUPERUSER_USER')} dbname=postgres sslmode=${env.get('POSTGRES_SUPERUSER_SSLMODE')}`,
      ],
      {
        env: {
          PATH: process.env.PATH,
          HOME: folder,
          PGPASSWORD: env.get('POSTGRES_SUPERUSER_PASSWORD'),
          PGSSLROOTCERT: env.get('PGSSLROOTCERT'),
        },
      },
    );
  };

  it('the services (asyncpg, the generated URL) connect with verify-full and the mounted CA, over TLS', () => {
    const rendered = external('verify-full');
    const result = serviceConnects(rendered, caFile(), 'localhost');
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe('orion ssl=True');
  });

  it('the services refuse the server when the CA they trust did not sign its certificate', () => {
    const result = serviceConnects(external('verify-full'), otherCaFile(), 'localhost');
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/certificate verify failed/);
  });

  it('verify-full refuses a name not in the certificate, verify-ca accepts it (same CA)', () => {
    const byAddress = serviceConnects(external('verify-full'), caFile(), '127.0.0.1');
    expect(byAddress.status).not.toBe(0);
    expect(byAddress.stderr).toMatch(/certificate verify failed|hostname|IP address mismatch/i);
    const caOnly = serviceConnects(external('verify-ca'), caFile(), '127.0.0.1');
    expect(caOnly.status, caOnly.stderr).toBe(0);
    expect(caOnly.stdout.trim()).toBe('orion ssl=True');
  });

  it('the init Jobs (libpq) verify the server with the same CA, and refuse another', () => {
    const rendered = external('verify-full');
    const trusted = initJobConnects(rendered, caFile(), 'localhost');
    expect(trusted.status, trusted.stderr).toBe(0);
    expect(trusted.stdout.trim()).toBe('t');
    const other = initJobConnects(rendered, otherCaFile(), 'localhost');
    expect(other.status).not.toBe(0);
    expect(other.stderr).toMatch(/certificate verify failed/);
  });
});
