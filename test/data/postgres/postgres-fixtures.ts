import { randomBytes } from 'node:crypto';
import { type DatabaseName, databasesOf } from '../../../lib/catalog/services';
import type { KubernetesObject, RenderedEnvironment } from '../../../lib/output/render';
import { objectsOfKind } from '../../helpers';
import {
  containerEnvironment,
  expandKubernetes,
  POSTGRES_BIN,
  POSTGRES_USER,
  RUNUSER,
  run,
  type EnvVarJson,
  type TestSecrets,
} from '../data-servers';

/*
 * What the suites that run the generated PostgreSQL Jobs on a real server share: the test's
 * Secrets, the init Jobs' containers, and running a Job's container as its image's user against
 * the server, with only the hosts and ports mapped to it.
 */

export const DATABASES = databasesOf('customer-managed') as readonly DatabaseName[];

export interface JobContainer {
  readonly command: readonly string[];
  readonly env: readonly EnvVarJson[];
}

export interface PostgresTestSecrets {
  readonly superuserPassword: string;
  readonly passwords: Readonly<Record<DatabaseName, string>>;
  /** The Secrets the Jobs read, as the user creates them (lib/catalog/secrets.ts). */
  readonly secrets: TestSecrets;
}

/** Fresh passwords for the superuser and each database's role, and the Secrets that hold them. */
export function postgresTestSecrets(): PostgresTestSecrets {
  const password = () => randomBytes(12).toString('hex');
  const superuserPassword = password();
  const passwords = Object.fromEntries(DATABASES.map((database) => [database, password()])) as Record<DatabaseName, string>;
  return {
    superuserPassword,
    passwords,
    secrets: {
      'prefect-postgres-superuser': { username: 'postgres', password: superuserPassword },
      ...Object.fromEntries(
        DATABASES.map((database) => [`prefect-postgres-${database}`, { username: database, password: passwords[database] }]),
      ),
    },
  };
}

/** The container of each database's init Job ("postgres-init-<database>-<hash>"). */
export function initJobContainers(rendered: RenderedEnvironment): ReadonlyMap<DatabaseName, JobContainer> {
  return new Map(
    DATABASES.map((database) => {
      const job = objectsOfKind(rendered, 'Job').find((candidate) => candidate.metadata.name.startsWith(`postgres-init-${database}-`));
      if (!job) throw new Error(`no init Job for ${database}`);
      return [
        database,
        ((job as KubernetesObject).spec as { template: { spec: { containers: JobContainer[] } } }).template.spec
          .containers[0] as JobContainer,
      ];
    }),
  );
}

/**
 * Runs a Job's container as the image's user against the server at `host` (an address, or a socket
 * folder) and `port`: the superuser's and every database's host and port mapped there.
 */
export function runJobContainer(
  container: JobContainer,
  secrets: TestSecrets,
  server: { readonly host: string; readonly port: number },
  overrides: Readonly<Record<string, string>> = {},
) {
  const env = containerEnvironment(container.env, secrets, {
    POSTGRES_SUPERUSER_HOST: server.host,
    POSTGRES_SUPERUSER_PORT: String(server.port),
    ...Object.fromEntries(
      DATABASES.flatMap((database) => [
        [`${database.toUpperCase()}_DATABASE_HOST`, server.host],
        [`${database.toUpperCase()}_DATABASE_PORT`, String(server.port)],
      ]),
    ),
    ...overrides,
  });
  return run(RUNUSER, ['-u', POSTGRES_USER, '--', ...container.command.map((part) => expandKubernetes(part, env))], {
    env: { PATH: `${POSTGRES_BIN}:/usr/bin:/bin`, ...Object.fromEntries(env) },
    timeout: 60_000,
  });
}
