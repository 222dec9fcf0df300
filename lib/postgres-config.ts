import { DATABASES, type DatabaseName, type ServiceDefinition } from './catalog';
import { roleName } from './postgres-access';
import { parseQuantity } from './quantity';

/*
 * postgresql.conf and pg_hba.conf, derived from the server's memory, CPU and disk and from the
 * connection pools of the services that use it. Every setting here is valid on PostgreSQL 15
 * through 18 (test/postgres.test.ts starts a real server with the generated file).
 */

/**
 * ASSUMPTION: each Prefect server process keeps a SQLAlchemy pool of 5 connections per database
 * it uses (SQLAlchemy's and Prefect's default `pool_size`); overflow connections are transient
 * and covered by the headroom below.
 */
export const POOL_SIZE_PER_DATABASE = 5;
/** Init, migration and administrator sessions, beyond the services' pools. */
export const RESERVED_CONNECTIONS = 20;

/**
 * Connections the services can hold at once at their maximum scale: every replica's pool for
 * every database it uses, plus reserved sessions, rounded up to a multiple of 10.
 */
export function connectionBudget(services: ReadonlyArray<Pick<ServiceDefinition, 'maxReplicas' | 'databases'>>): number {
  const pooled = services.reduce((sum, service) => sum + service.maxReplicas * service.databases.length * POOL_SIZE_PER_DATABASE, 0);
  return Math.ceil((pooled + RESERVED_CONNECTIONS) / 10) * 10;
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
  const parallelPerGather = clamp(Math.floor(cores / 2), 0, 4);
  const maxWal = clamp(disk / 10, GB, 16 * GB);
  return {
    max_connections: String(sizing.maxConnections),
    shared_buffers: megabytes(sharedBuffers),
    effective_cache_size: megabytes((memory * 3) / 4),
    maintenance_work_mem: megabytes(clamp(memory / 16, 64 * MB, 2 * GB)),
    work_mem: megabytes((memory - sharedBuffers) / (sizing.maxConnections * 3)),
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
const OPERATOR_MANAGED = new Set(['listen_addresses', 'port', 'ssl', 'hba_file', 'unix_socket_directories', 'shared_preload_libraries', 'huge_pages']);

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
    // Dead peers (a node gone, a proxy timing out) are noticed in about two minutes.
    tcp_keepalives_idle: '60',
    tcp_keepalives_interval: '10',
    tcp_keepalives_count: '6',
  };
}

export interface PostgresConfFiles {
  readonly 'postgresql.conf': string;
  readonly 'pg_hba.conf': string;
}

/** The files of the StatefulSet's ConfigMap, mounted at `configDir`. */
export function postgresConfFiles(sizing: PostgresSizing, configDir: string): PostgresConfFiles {
  const settings: Record<string, string> = {
    listen_addresses: "'*'",
    port: '5432',
    hba_file: `'${configDir}/pg_hba.conf'`,
    unix_socket_directories: "'/var/run/postgresql'",
    // In the cluster, the mesh encrypts every connection (Istio mTLS, STRICT): no server TLS.
    ssl: 'off',
    // Kubernetes does not account huge pages the way PostgreSQL probes for them: a server that
    // finds some on the node can crash with SIGBUS at its cgroup's limit.
    huge_pages: 'off',
    shared_preload_libraries: "'pg_stat_statements'",
    ...tunedSettings(sizing),
    ...commonSettings(),
  };
  const conf = [
    '# Generated by prefect-cdk8s (lib/postgres-config.ts) from the server\'s memory, CPU, disk and',
    '# the services\' connection pools. Paths (data directory) come from the container.',
    ...Object.entries(settings).map(([name, value]) => `${name} = ${value}`),
    '',
  ].join('\n');
  return { 'postgresql.conf': conf, 'pg_hba.conf': pgHba() };
}

/**
 * pg_hba.conf: SCRAM only, and each database's role reaches only its own database (`sameuser`:
 * the role has the database's name), whatever grants a later migration adds.
 */
export function pgHba(databases: readonly DatabaseName[] = DATABASES): string {
  return ['# TYPE DATABASE USER ADDRESS METHOD', 'local all all scram-sha-256', ...pgHbaIsolation('host', databases), 'host all all all scram-sha-256', ''].join('\n');
}

/**
 * The lines that keep each database's role in its own database: `hostssl` where the server
 * speaks TLS itself (CloudNativePG, whose own rules follow), `host` where the mesh encrypts.
 */
export function pgHbaIsolation(connection: 'host' | 'hostssl', databases: readonly DatabaseName[] = DATABASES): string[] {
  const roles = databases.map(roleName).join(',');
  return [`${connection} sameuser ${roles} all scram-sha-256`, `host all ${roles} all reject`];
}
