import type { Mesh } from '../../mesh/identity';
import { Construct } from 'constructs';
import type { LabelsFor } from '../../core/labels';
import type { DatabaseName } from '../../catalog/services';
import { ClientRelation, type ClientRelationProps } from '../client-relation';
import type { Resources } from '../../config/schema';
import type { DataClient } from '../../core/data-client';
import { roleSecretId, SECRET_KEY } from '../../catalog/secrets';
import type { PrefectSecrets } from '../secrets/secrets';

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

/** What the in-cluster servers (StatefulSet, CloudNativePG) are built from. */
export interface InClusterPostgresProps {
  readonly namespace: string;
  /** The PostgreSQL version of the image, e.g. "17.6". */
  readonly version: string;
  readonly resources: Resources;
  readonly storage: { readonly size: string; readonly storageClass?: string };
  /** postgresql.conf's max_connections (lib/data/postgres/postgres-config.ts sizes it for the services). */
  readonly maxConnections: number;
  /** The installation's databases (the edition's): one login role each, kept in its own database. */
  readonly databases: readonly DatabaseName[];
  readonly secrets: PrefectSecrets;
  readonly mesh: Mesh;
  readonly labelsFor: LabelsFor;
  /**
   * Names the server's objects (StatefulSet or Cluster, Services, policies). A rename is a new,
   * empty server.
   * @default 'postgres'
   */
  readonly name?: string;
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

/**
 * The SQLAlchemy URL for asyncpg, composed in the pod from environment variables with `$(VAR)`
 * expansion (`<credentials>_USER`, `_PASSWORD`, `_HOST`, `_PORT`, and `<database>_NAME`).
 * asyncpg takes the libpq sslmode names as its `ssl` argument.
 */
export function asyncpgUrl(credentialsPrefix: string, databasePrefix: string, sslMode: SslMode): string {
  const v = (prefix: string, suffix: string) => `$(${prefix}_${suffix})`;
  const tls = sslMode === 'disable' ? '' : `?ssl=${sslMode}`;
  const c = credentialsPrefix;
  return `postgresql+asyncpg://${v(c, 'USER')}:${v(c, 'PASSWORD')}@${v(c, 'HOST')}:${v(c, 'PORT')}/${v(databasePrefix, 'NAME')}${tls}`;
}

export interface PostgresAccessProps extends ClientRelationProps {
  readonly sslMode: SslMode;
  /**
   * A Secret with the server's CA certificate under `ca.crt` (an external server's), in every
   * namespace a client runs in. With sslmode verify-ca and verify-full every client gets it
   * mounted and PGSSLROOTCERT set to it: libpq (init Jobs) and asyncpg (services, migrations)
   * both read it there, and asyncpg has no system-bundle fallback.
   * @default - none: the server's certificate is not verified (in the cluster, the mesh encrypts)
   */
  readonly caSecret?: string;
}

/** Where a client finds the PostgreSQL server's CA certificate. */
export const POSTGRES_CA_DIR = '/etc/postgres-ca';

/**
 * The client side of every PostgreSQL relation, shared by the providers. The password goes into
 * the URL as it is: Kubernetes cannot URL-encode it, so passwords must use URL-safe characters
 * (the README says so; `openssl rand -hex 32` is safe).
 */
export class PostgresAccess extends ClientRelation<PostgresAccessProps> {
  public grantDatabase(client: DataClient, database: DatabaseName): void {
    const { sslMode, secrets } = this.props;
    const prefix = databaseEnvPrefix(database);
    this.addAddress(client, prefix);
    client.addEnv(`${prefix}_NAME`, { value: database });
    client.addEnv(`${prefix}_USER`, { value: roleName(database) });
    client.addEnv(`${prefix}_PASSWORD`, { secretKeyRef: secrets.keyRef(roleSecretId(database), SECRET_KEY.password, client.namespace) });
    client.addEnv(`${prefix}_SSLMODE`, { value: sslMode });
    client.addEnv(`${prefix}_URL`, { value: asyncpgUrl(prefix, prefix, sslMode) });
    this.trustServer(client);
    this.connect(client);
  }

  public grantSuperuser(client: DataClient): void {
    const { sslMode, secrets } = this.props;
    const prefix = SUPERUSER_ENV_PREFIX;
    this.addAddress(client, prefix);
    client.addEnv(`${prefix}_USER`, { secretKeyRef: secrets.keyRef('postgres-superuser', SECRET_KEY.username, client.namespace) });
    client.addEnv(`${prefix}_PASSWORD`, { secretKeyRef: secrets.keyRef('postgres-superuser', SECRET_KEY.password, client.namespace) });
    client.addEnv(`${prefix}_SSLMODE`, { value: sslMode });
    this.trustServer(client);
    this.connect(client);
  }

  private readonly trusting = new WeakSet<DataClient>();

  /** With a verifying sslmode: the CA file and PGSSLROOTCERT, once per client. */
  private trustServer(client: DataClient): void {
    const { sslMode, caSecret } = this.props;
    if (sslMode !== 'verify-ca' && sslMode !== 'verify-full') return;
    if (caSecret === undefined) throw new Error(`sslmode ${sslMode} needs the server's CA certificate (postgres.external.caSecret)`);
    if (this.trusting.has(client)) return;
    this.trusting.add(client);
    client.mountSecretFile({ volume: 'postgres-ca', secretName: caSecret, key: 'ca.crt', directory: POSTGRES_CA_DIR });
    client.addEnv('PGSSLROOTCERT', { value: `${POSTGRES_CA_DIR}/ca.crt` });
  }
}

/**
 * A PostgreSQL provider's construct: its relations are PostgresAccess's, set up by the subclass
 * once it knows its address and policies.
 */
export abstract class PostgresRelations extends Construct implements PostgresServer {
  public abstract readonly host: string;
  public abstract readonly port: number;
  public abstract readonly sslMode: SslMode;
  private relations?: PostgresAccess;

  public grantDatabase(client: DataClient, database: DatabaseName): void {
    this.clientSide().grantDatabase(client, database);
  }

  public grantSuperuser(client: DataClient): void {
    this.clientSide().grantSuperuser(client);
  }

  /** Called once by the subclass's constructor, with the server's side of the relations. */
  protected relate(props: PostgresAccessProps): void {
    this.relations = new PostgresAccess(props);
  }

  private clientSide(): PostgresAccess {
    if (!this.relations) throw new Error(`${this.node.path}: the server's relations are not set up (its constructor must call relate)`);
    return this.relations;
  }
}
