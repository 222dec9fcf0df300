import type { Mesh } from '../../mesh/identity';
import type { Construct } from 'constructs';
import type { LabelsFor } from '../../core/labels';
import type { DatabaseName } from '../../catalog/services';
import { HashedJob } from '../../flux/hashed-job';
import { databaseEnvPrefix, SUPERUSER_ENV_PREFIX, type PostgresServer } from './postgres-access';
import { POSTGRES_USER } from './postgres';
import type { PrefectSecrets } from '../secrets/secrets';
import { toResourceRequirements } from '../../core/resources';

/** Seconds the Job waits for the server (and, with an operator, for the database) to be there. */
const WAIT_SECONDS = 300;

export interface DatabaseInitJobProps {
  readonly postgres: PostgresServer;
  readonly database: DatabaseName;
  readonly namespace: string;
  /** The image whose psql runs the script: the official `postgres` image. */
  readonly image: string;
  /** The version label of the Job's objects. */
  readonly version: string;
  readonly labelsFor: LabelsFor;
  readonly mesh: Mesh;
  /** For `secrets.revision`: a bump renames the Job, which runs again and sets the new passwords. */
  readonly secrets: PrefectSecrets;
  /**
   * Create the login role and the database. Off where an operator declares them (CloudNativePG's
   * managed roles and Database resources): the Job then waits for the database and sets only
   * what the operator cannot, the privileges.
   * @default true
   */
  readonly createDatabase?: boolean;
  /**
   * The exporter's login role (lib/data/postgres/postgres-exporter.ts): created without a
   * password, given pg_monitor and CONNECT on the database.
   * @default - none
   */
  readonly metricsRole?: string;
  /**
   * A role the operator creates for its own exporter (CloudNativePG's cnpg_metrics_exporter, from
   * 1.30 and 1.29.2 on): given CONNECT on the database where it exists, since PUBLIC's is revoked, so that the
   * exporter's queries run in it.
   * @default - none
   */
  readonly operatorMetricsRole?: string;
}

/**
 * Creates one database, its login role and its extensions, idempotently, as the superuser:
 * `CREATE … \gexec` guards, the role's password (re)set from its Secret on every run, the
 * database owned by its role, CONNECT revoked from PUBLIC, pg_trgm, nothing granted on any other
 * database, and the role's privileges on what the migrations create (see `initScript`). A
 * hash-named Job (lib/flux/hashed-job.ts), "postgres-init-<database>-<hash>".
 */
export class DatabaseInitJob extends HashedJob {
  constructor(scope: Construct, id: string, props: DatabaseInitJobProps) {
    const { database, postgres } = props;
    const baseName = `postgres-init-${database}`;
    // With a verifying sslmode, the relations mount the server's CA and set PGSSLROOTCERT.

    super(scope, id, {
      baseName,
      namespace: props.namespace,
      labels: props.labelsFor({ name: baseName, component: 'database-init' }),
      version: props.version,
      mesh: props.mesh,
      connect: (client) => {
        postgres.grantSuperuser(client);
        postgres.grantDatabase(client, database);
      },
      runAs: POSTGRES_USER,
      podAnnotations: props.secrets.revisionAnnotation,
      container: {
        name: 'init',
        image: props.image,
        command: [
          '/bin/sh',
          '-c',
          initScript(database, {
            createDatabase: props.createDatabase ?? true,
            ...(props.metricsRole ? { metricsRole: props.metricsRole } : {}),
            ...(props.operatorMetricsRole ? { operatorMetricsRole: props.operatorMetricsRole } : {}),
          }),
        ],
        resources: toResourceRequirements({ requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '128Mi' } }),
      },
      // The script waits for the server itself; retries cover a server restarting meanwhile.
      backoffLimit: 4,
      activeDeadlineSeconds: WAIT_SECONDS * 3,
    });
  }
}

export interface InitScriptOptions {
  /** @default true (see DatabaseInitJobProps.createDatabase) */
  readonly createDatabase?: boolean;
  /** @default - none (see DatabaseInitJobProps.metricsRole) */
  readonly metricsRole?: string;
  /** @default - none (see DatabaseInitJobProps.operatorMetricsRole) */
  readonly operatorMetricsRole?: string;
}

/**
 * The Job's script: POSIX sh and psql 15+ (`\getenv`), run with the environment that
 * `grantSuperuser` and `grantDatabase` give the Job. Values reach SQL only through psql's
 * quoting (`:'literal'`, `:"identifier"`), never through the shell.
 *
 * Ownership: the database belongs to the user the Job and the migrations run as (the superuser,
 * or a managed service's administrator), never to the service's role, which may connect and
 * nothing more at the database's level: an owner could create schemas and install extensions.
 *
 * Privileges: the migration Jobs run as the superuser, and in PostgreSQL an object belongs to
 * whoever creates it, not to the database's owner. So the superuser's default privileges in the
 * database's `public` schema give the role what a service needs on every table, sequence and
 * function the migrations create (and the same GRANTs cover those that exist already): data,
 * never ownership. The role owning no table keeps Nebula's row-level security in force for it.
 * Since PostgreSQL 15 the database's owner owns `public` (pg_database_owner), and a schema's
 * owner may drop any table in it: the schema goes to the superuser instead.
 */
export function initScript(database: DatabaseName, options: InitScriptOptions = {}): string {
  const createDatabase = options.createDatabase ?? true;
  const db = databaseEnvPrefix(database);
  const su = SUPERUSER_ENV_PREFIX;
  const attempts = WAIT_SECONDS / 2;
  const psql = 'psql --no-psqlrc --quiet --set=ON_ERROR_STOP=1';
  // Without an operator, the server answering is enough; with one, the database must exist too.
  const ready = createDatabase ? 'pg_isready --quiet' : `${psql} --dbname="$${db}_NAME" --command='SELECT 1' >/dev/null 2>&1`;
  const waitingFor = createDatabase
    ? 'PostgreSQL at $PGHOST:$PGPORT did not accept connections'
    : `the operator did not create the database "$${db}_NAME" at $PGHOST:$PGPORT`;
  // The exporter's role: no password (pg_hba admits it by peer authentication over the pod's
  // socket only), the statistics views (pg_monitor), no other power. The Jobs of the databases
  // run at once: the one that loses the race to create the role fails and is retried.
  const metrics = options.metricsRole
    ? `\\set metrics ${options.metricsRole}
SELECT format('CREATE ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS', :'metrics') WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = :'metrics')
\\gexec
ALTER ROLE :"metrics" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD NULL;
GRANT pg_monitor TO :"metrics";
`
    : '';
  // The operator's exporter role, where the operator has created it (an older operator's exporter
  // logs in as the superuser).
  const operatorMetrics = options.operatorMetricsRole
    ? `SELECT format('GRANT CONNECT ON DATABASE %I TO %I', :'database', rolname) FROM pg_catalog.pg_roles WHERE rolname = '${options.operatorMetricsRole}'
\\gexec
`
    : '';
  const creation = `\\getenv password ${db}_PASSWORD
-- A superuser keeps the password below out of the server log, even if a statement fails. (A
-- managed service's administrator may not change these; its log settings are its own.)
-- pg_stat_statements keeps the text of utility statements (ALTER ROLE … PASSWORD) unless told not
-- to, in its view and in its file under pg_stat_tmp; a slow statement is logged whole.
SELECT 'SET log_statement = none', 'SET log_min_error_statement = panic', 'SET log_min_duration_statement = -1', 'SET pg_stat_statements.track_utility = off' FROM pg_catalog.pg_roles WHERE rolname = current_user AND rolsuper
\\gexec
SET password_encryption = 'scram-sha-256';
-- One login role per database, with no other power; its password follows the Secret.
SELECT format('CREATE ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS', :'role') WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = :'role')
\\gexec
-- Powers added by hand are taken back (only a superuser can have added them, or remove them).
SELECT format('ALTER ROLE %I WITH NOSUPERUSER NOREPLICATION NOBYPASSRLS', rolname) FROM pg_catalog.pg_roles WHERE rolname = :'role' AND (rolsuper OR rolreplication OR rolbypassrls)
\\gexec
ALTER ROLE :"role" WITH LOGIN NOCREATEDB NOCREATEROLE INHERIT CONNECTION LIMIT -1 PASSWORD :'password';
-- An administrator that is not a superuser (a managed service's) must be able to act as the role
-- to take over a database the role owns (one that an earlier version created so).
SELECT format('GRANT %I TO %I', :'role', current_user) WHERE NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) AND NOT pg_catalog.pg_has_role(current_user, :'role', 'USAGE')
\\gexec
-- The database belongs to this user, who runs the migrations, not to the role: an owner may create
-- schemas and install extensions in it.
SELECT format('CREATE DATABASE %I WITH TEMPLATE = template0 ENCODING = %L', :'database', 'UTF8') WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = :'database')
\\gexec
${metrics}`;
  return `set -eu
${createDatabase ? `: "\${${db}_PASSWORD:?is empty: set the key password of the database's Secret}"\n` : ''}export PGHOST="$${su}_HOST" PGPORT="$${su}_PORT" PGUSER="$${su}_USER" PGPASSWORD="$${su}_PASSWORD" PGSSLMODE="$${su}_SSLMODE"
export PGDATABASE=postgres PGCONNECT_TIMEOUT=10 PGAPPNAME=prefect-cdk8s-init PGOPTIONS='-c client_min_messages=warning'
# The Job can start before the server accepts connections (first start, restart, DNS)${createDatabase ? '' : ' and before the operator has created the database'}.
attempt=0
until ${ready}; do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge ${attempts} ]; then
    echo "${waitingFor} within ${WAIT_SECONDS} s" >&2
    exit 1
  fi
  sleep 2
done
${psql} --file=- <<'SQL'
\\getenv database ${db}_NAME
\\getenv role ${db}_USER
${createDatabase ? creation : ''}-- A database the role owns (created so by an earlier version, or by an operator's bootstrap) is
-- taken over by this user.
SELECT format('ALTER DATABASE %I OWNER TO %I', datname, current_user) FROM pg_catalog.pg_database WHERE datname = :'database' AND pg_catalog.pg_get_userbyid(datdba) = :'role'
\\gexec
-- The role may connect, and do nothing else at the database's level (no CREATE of schemas, no
-- temporary tables); PUBLIC gets nothing.
REVOKE ALL ON DATABASE :"database" FROM PUBLIC, :"role";
GRANT CONNECT ON DATABASE :"database" TO :"role";
${options.metricsRole ? 'GRANT CONNECT ON DATABASE :"database" TO :"metrics";\n' : ''}${operatorMetrics}\\connect :"database"
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
-- The role must not own the schema its tables live in (a schema's owner may drop them).
SELECT format('ALTER SCHEMA public OWNER TO %I', current_user) FROM pg_catalog.pg_namespace WHERE nspname = 'public' AND pg_catalog.pg_get_userbyid(nspowner) IN ('pg_database_owner', :'role')
\\gexec
GRANT USAGE ON SCHEMA public TO :"role";
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
-- What the migrations create (as this user: objects belong to their creator) is the role's to
-- use, never to own, so that row-level security applies to it; and so is what exists already.
ALTER DEFAULT PRIVILEGES FOR ROLE CURRENT_USER IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"role";
ALTER DEFAULT PRIVILEGES FOR ROLE CURRENT_USER IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO :"role";
ALTER DEFAULT PRIVILEGES FOR ROLE CURRENT_USER IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO :"role";
-- (An administrator that is not a superuser grants only on what it owns: a trusted extension's
-- functions belong to the bootstrap superuser, and PUBLIC may execute them. No warning for those.)
SET client_min_messages = error;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"role";
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO :"role";
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO :"role";
SQL
echo "database ${database}: ready (owned by $PGUSER; role ${database} may connect and use what the migrations create; pg_trgm)"
`;
}
