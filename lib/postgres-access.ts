import type { DatabaseName } from './catalog';
import type { DataClient, EgressRule } from './data-client';
import { roleSecretId, SECRET_KEY } from './secret-catalog';
import type { PrefectSecrets } from './secrets';

export type SslMode = 'disable' | 'require' | 'verify-ca' | 'verify-full';

/**
 * A PostgreSQL server that Prefect's workloads use, whatever runs it (StatefulSet,
 * CloudNativePG or a managed service). Relations do all of the wiring at once.
 */
export interface PostgresServer {
  /** The DNS name clients connect to. */
  readonly host: string;
  readonly port: number;
  /** What clients ask of the server's TLS (libpq `sslmode`). */
  readonly sslMode: SslMode;
  /**
   * Lets `client` use `database` with that database's login role: the environment variables
   * `<DB>_DATABASE_{HOST,PORT,NAME,USER,PASSWORD,SSLMODE,URL}`, the client's egress, and the
   * server's NetworkPolicy and AuthorizationPolicy. Throws when the client already has them.
   */
  grantDatabase(client: DataClient, database: DatabaseName): void;
  /**
   * Lets `client` connect as the superuser (init and migration Jobs):
   * `POSTGRES_SUPERUSER_{HOST,PORT,USER,PASSWORD,SSLMODE}`, egress and the server's policies.
   */
  grantSuperuser(client: DataClient): void;
}

/** The login role of a database has the database's name (pg_hba's `sameuser` relies on it). */
export function roleName(database: DatabaseName): string {
  return database;
}

/** The prefix of a database's environment variables, e.g. "ORION_DATABASE". */
export function databaseEnvPrefix(database: DatabaseName): string {
  return `${database.toUpperCase()}_DATABASE`;
}

export const SUPERUSER_ENV_PREFIX = 'POSTGRES_SUPERUSER';

export interface PostgresAccessProps {
  readonly host: string;
  readonly port: number;
  readonly sslMode: SslMode;
  readonly secrets: PrefectSecrets;
  /** The server side of a relation: its NetworkPolicy, AuthorizationPolicy or ServiceEntry. */
  readonly admit: (client: DataClient) => void;
  /** What the client's NetworkPolicy must allow. */
  readonly egress: EgressRule;
}

/**
 * The client side of every PostgreSQL relation, shared by the providers: environment variables
 * built from Secret references (never values) and composed in the pod with `$(VAR)` expansion.
 * The password goes into the URL as it is: Kubernetes cannot URL-encode it, so passwords must
 * use URL-safe characters (the README says so; `openssl rand -hex 32` is safe).
 */
export class PostgresAccess {
  constructor(private readonly props: PostgresAccessProps) {}

  public grantDatabase(client: DataClient, database: DatabaseName): void {
    const { host, port, sslMode, secrets } = this.props;
    const prefix = databaseEnvPrefix(database);
    const v = (suffix: string) => `$(${prefix}_${suffix})`;
    client.addEnv(`${prefix}_HOST`, { value: host });
    client.addEnv(`${prefix}_PORT`, { value: String(port) });
    client.addEnv(`${prefix}_NAME`, { value: database });
    client.addEnv(`${prefix}_USER`, { value: roleName(database) });
    client.addEnv(`${prefix}_PASSWORD`, { secretKeyRef: secrets.keyRef(roleSecretId(database), SECRET_KEY.password, client.namespace) });
    client.addEnv(`${prefix}_SSLMODE`, { value: sslMode });
    // SQLAlchemy with asyncpg: asyncpg takes the libpq sslmode names as its `ssl` argument.
    const tls = sslMode === 'disable' ? '' : `?ssl=${sslMode}`;
    client.addEnv(`${prefix}_URL`, { value: `postgresql+asyncpg://${v('USER')}:${v('PASSWORD')}@${v('HOST')}:${v('PORT')}/${v('NAME')}${tls}` });
    this.connect(client);
  }

  public grantSuperuser(client: DataClient): void {
    const { host, port, sslMode, secrets } = this.props;
    const prefix = SUPERUSER_ENV_PREFIX;
    client.addEnv(`${prefix}_HOST`, { value: host });
    client.addEnv(`${prefix}_PORT`, { value: String(port) });
    client.addEnv(`${prefix}_USER`, { secretKeyRef: secrets.keyRef('postgres-superuser', SECRET_KEY.username, client.namespace) });
    client.addEnv(`${prefix}_PASSWORD`, { secretKeyRef: secrets.keyRef('postgres-superuser', SECRET_KEY.password, client.namespace) });
    client.addEnv(`${prefix}_SSLMODE`, { value: sslMode });
    this.connect(client);
  }

  private connect(client: DataClient): void {
    client.addEgress(this.props.egress);
    this.props.admit(client);
  }
}
