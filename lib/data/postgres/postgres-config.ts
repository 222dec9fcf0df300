import { exporterQueries, metricsHbaLines, metricsIdent } from './postgres-exporter';
import { databasesOf, type DatabaseName, type ServiceDefinition } from '../../catalog/services';
import type { Resources } from '../../config/schema';
import { roleName } from './postgres-access';
import { ConfigurationFault } from '../../core/configuration-fault';
import { parseQuantity } from '../../core/quantity';

/*
 * postgresql.conf and pg_hba.conf, derived from the server's memory, CPU and disk and from the
 * connection pools of the services that use it. Every setting here is valid on PostgreSQL 15
 * through 18 (test/postgres.test.ts starts a real server with the generated file).
 */

/** The connections one client process may hold per database it uses (`postgres.pool`). */
export interface ConnectionPool {
  /** SQLAlchemy's `pool_size`: connections kept open. */
  readonly size: number;
  /** SQLAlchemy's `max_overflow`: connections opened beyond them under load, closed after. */
  readonly maxOverflow: number;
}

/**
 * ASSUMPTION: each Prefect pod runs one server process, which keeps a SQLAlchemy pool per
 * database it uses with SQLAlchemy's defaults, 5 connections and up to 10 more under load
 * (`postgres.pool` changes the figures).
 */
export const DEFAULT_POOL: ConnectionPool = { size: 5, maxOverflow: 10 };
/** Sessions beyond the services' and the Jobs': administrators, monitoring, superuser_reserved_connections. */
export const RESERVED_CONNECTIONS = 20;
/** Below this, sorts and hashes spill to disk all the time: max_connections is too high for the memory. */
export const MINIMUM_WORK_MEM_BYTES = 1024 * 1024;

/**
 * Connections that can be open at once at the services' maximum scale: every replica's full pool
 * (size and overflow) for every database it uses, the init and migration Jobs of every database
 * (a psql session, and a server process with its own pool), and reserved sessions; rounded up to
 * a multiple of 10.
 */
export function connectionBudget(
  services: ReadonlyArray<Pick<ServiceDefinition, 'maxReplicas' | 'databases'>>,
  pool: ConnectionPool = DEFAULT_POOL,
  databases: readonly DatabaseName[] = databasesOf('customer-managed'),
): number {
  const perProcess = pool.size + pool.maxOverflow;
  const pooled = services.reduce((sum, service) => sum + service.maxReplicas * service.databases.length * perProcess, 0);
  const jobs = databases.length * (1 + perProcess);
  return Math.ceil((pooled + jobs + RESERVED_CONNECTIONS) / 10) * 10;
}

export interface PostgresSizing {
  /** The container's memory limit (or request), e.g. "8Gi". */
  readonly memory: string;
  /** The container's CPU limit (or request), e.g. "4". */
  readonly cpu: string;
  /** The volume's size, e.g. "100Gi". */
  readonly storage: string;
  readonly maxConnections: number;
}

/** The sizing of a server with these resources (their limits, or else their requests). */
export function sizingOf(server: {
  readonly resources: Resources;
  readonly storage: { readonly size: string };
  readonly maxConnections: number;
}): PostgresSizing {
  const { resources } = server;
  return {
    memory: resources.limits?.memory ?? resources.requests.memory,
    cpu: resources.limits?.cpu ?? resources.requests.cpu,
    storage: server.storage.size,
    maxConnections: server.maxConnections,
  };
}

const MB = 1024 * 1024;
const GB = 1024 * MB;
const clamp = (value: number, low: number, high: number) => Math.min(high, Math.max(low, value));
const megabytes = (bytes: number) => `${Math.max(1, Math.floor(bytes / MB))}MB`;

/**
 * The tuned settings, as postgresql.conf values (strings, quoted where PostgreSQL needs quotes).
 * Rules of thumb as pgtune applies them to a dedicated server: shared_buffers a quarter of
 * memory, effective_cache_size three quarters, work_mem what is left per connection and sort.
 */
export function tunedSettings(sizing: PostgresSizing): Record<string, string> {
  const memory = parseQuantity(sizing.memory);
  const cores = Math.max(1, Math.floor(parseQuantity(sizing.cpu)));
  const disk = parseQuantity(sizing.storage);
  const sharedBuffers = memory / 4;
  // Every connection may sort or hash a few times at once: work_mem is what is left for each.
  const workMem = (memory - sharedBuffers) / (sizing.maxConnections * 3);
  if (workMem < MINIMUM_WORK_MEM_BYTES) {
    const needed = Math.ceil((sizing.maxConnections * 3 * MINIMUM_WORK_MEM_BYTES) / (3 / 4) / MB);
    throw new ConfigurationFault(
      'postgres.resources.limits.memory',
      `expected at least ${needed}Mi: ${sizing.memory} of memory leaves work_mem ${(workMem / MB).toFixed(2)} MB for max_connections ${sizing.maxConnections}, below ${MINIMUM_WORK_MEM_BYTES / MB} MB ` +
        "(or lower the services' maxReplicas or postgres.pool, or set postgres.maxConnections)",
    );
  }
  const parallelPerGather = clamp(Math.floor(cores / 2), 0, 4);
  const maxWal = clamp(disk / 10, GB, 16 * GB);
  return {
    max_connections: String(sizing.maxConnections),
    shared_buffers: megabytes(sharedBuffers),
    effective_cache_size: megabytes((memory * 3) / 4),
    maintenance_work_mem: megabytes(clamp(memory / 16, 64 * MB, 2 * GB)),
    work_mem: megabytes(workMem),
    wal_buffers: sharedBuffers >= 512 * MB ? '16MB' : '-1',
    // WAL: fewer, spread-out checkpoints; the volume keeps room for max_wal_size (a tenth of it).
    min_wal_size: megabytes(maxWal / 4),
    max_wal_size: megabytes(maxWal),
    checkpoint_timeout: "'15min'",
    checkpoint_completion_target: '0.9',
    wal_compression: 'on',
    // Network SSD volumes: random reads cost about as much as sequential ones.
    random_page_cost: '1.1',
    effective_io_concurrency: '200',
    max_worker_processes: String(Math.max(8, cores)),
    max_parallel_workers: String(cores),
    max_parallel_workers_per_gather: String(parallelPerGather),
    max_parallel_maintenance_workers: String(parallelPerGather),
  };
}

/** Settings that CloudNativePG manages itself and refuses in `postgresql.parameters`. */
const OPERATOR_MANAGED = new Set([
  'listen_addresses',
  'port',
  'ssl',
  'hba_file',
  'unix_socket_directories',
  'shared_preload_libraries',
  'huge_pages',
]);

/** The common settings as CloudNativePG's `postgresql.parameters` (values unquoted). */
export function operatorParameters(sizing: PostgresSizing): Record<string, string> {
  const entries = Object.entries({ ...tunedSettings(sizing), ...commonSettings() }).filter(([name]) => !OPERATOR_MANAGED.has(name));
  return Object.fromEntries(entries.map(([name, value]) => [name, value.replace(/^'(.*)'$/, '$1')]));
}

/** Settings that do not depend on the size. */
function commonSettings(): Record<string, string> {
  return {
    password_encryption: "'scram-sha-256'",
    // JIT compilation costs more than it saves on Prefect's short OLTP queries.
    jit: 'off',
    timezone: "'UTC'",
    log_timezone: "'UTC'",
    log_min_duration_statement: "'1s'",
    log_checkpoints: 'on',
    log_lock_waits: 'on',
    log_temp_files: "'10MB'",
    log_autovacuum_min_duration: "'10s'",
    track_io_timing: 'on',
    // Query statistics for queries only: a utility statement's text (ALTER ROLE … PASSWORD '…')
    // would otherwise be kept whole, in pg_stat_statements and in its file under pg_stat_tmp.
    'pg_stat_statements.track_utility': 'off',
    // Dead peers (a node gone, a proxy timing out) are noticed in about two minutes.
    tcp_keepalives_idle: '60',
    tcp_keepalives_interval: '10',
    tcp_keepalives_count: '6',
    ...DOCUMENTED_FLAGS,
  };
}

/**
 * The flags Prefect recommends for all three databases (reference/database-flags): plans of
 * statements over 1000 ms logged as JSON (auto_explain, preloaded), and autovacuum at 10% of a
 * table instead of 20%. They hold for the server, so for every database on it.
 */
export const DOCUMENTED_FLAGS: Readonly<Record<string, string>> = {
  'auto_explain.log_analyze': 'on',
  'auto_explain.log_buffers': 'on',
  'auto_explain.log_format': 'json',
  'auto_explain.log_min_duration': '1000',
  'auto_explain.log_nested_statements': 'on',
  'auto_explain.log_timing': 'off',
  'auto_explain.log_triggers': 'on',
  'auto_explain.log_verbose': 'on',
  'auto_explain.sample_rate': '1',
  autovacuum_vacuum_scale_factor: '0.1',
};

/** The libraries the server loads at start: query statistics, and auto_explain for DOCUMENTED_FLAGS. */
export const PRELOADED_LIBRARIES = ['pg_stat_statements', 'auto_explain'] as const;

export interface PostgresConfFiles {
  readonly 'postgresql.conf': string;
  readonly 'pg_hba.conf': string;
  /** With the exporter: its peer map (pg_ident.conf) and queries. */
  readonly 'pg_ident.conf'?: string;
  readonly 'queries.yaml'?: string;
}

/** The files of the StatefulSet's ConfigMap, mounted at `configDir`. */
export function postgresConfFiles(
  sizing: PostgresSizing,
  configDir: string,
  databases: readonly DatabaseName[] = databasesOf('customer-managed'),
  exporter = false,
): PostgresConfFiles {
  const settings: Record<string, string> = {
    listen_addresses: "'*'",
    port: '5432',
    hba_file: `'${configDir}/pg_hba.conf'`,
    ...(exporter ? { ident_file: `'${configDir}/pg_ident.conf'` } : {}),
    unix_socket_directories: "'/var/run/postgresql'",
    // In the cluster, the mesh encrypts every connection (Istio mTLS, STRICT): no server TLS.
    ssl: 'off',
    // Kubernetes does not account huge pages the way PostgreSQL probes for them: a server that
    // finds some on the node can crash with SIGBUS at its cgroup's limit.
    huge_pages: 'off',
    shared_preload_libraries: `'${PRELOADED_LIBRARIES.join(',')}'`,
    ...tunedSettings(sizing),
    ...commonSettings(),
  };
  const conf = [
    "# Generated by prefect-cdk8s from the server's memory, CPU, disk and",
    "# the services' connection pools. Paths (data directory) come from the container.",
    ...Object.entries(settings).map(([name, value]) => `${name} = ${value}`),
    '',
  ].join('\n');
  if (!exporter) return { 'postgresql.conf': conf, 'pg_hba.conf': pgHba(databases) };
  return {
    'postgresql.conf': conf,
    'pg_hba.conf': pgHba(databases, metricsHbaLines()),
    'pg_ident.conf': metricsIdent(),
    'queries.yaml': exporterQueries(),
  };
}

/**
 * pg_hba.conf: SCRAM only, and each database's role reaches only its own database (`sameuser`:
 * the role has the database's name), whatever grants a later migration adds.
 */
export function pgHba(databases: readonly DatabaseName[], first: readonly string[] = []): string {
  return [
    '# TYPE DATABASE USER ADDRESS METHOD',
    ...first,
    'local all all scram-sha-256',
    ...pgHbaIsolation('host', databases),
    'host all all all scram-sha-256',
    '',
  ].join('\n');
}

/**
 * The lines that keep each database's role in its own database: `hostssl` where the server
 * speaks TLS itself (CloudNativePG, whose own rules follow), `host` where the mesh encrypts.
 */
export function pgHbaIsolation(connection: 'host' | 'hostssl', databases: readonly DatabaseName[]): string[] {
  const roles = databases.map(roleName).join(',');
  return [`${connection} sameuser ${roles} all scram-sha-256`, `host all ${roles} all reject`];
}
