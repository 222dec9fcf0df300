/*
 * The Prefect service catalog: data, not code. Every deployment, route backend, policy and
 * capacity figure of the `prefect` layer derives from these entries; `prefect.services` in
 * config/<env>.yaml overrides them per environment.
 *
 * Prefect's Customer-Managed pages (docs-customer-managed.prefect.io) name the services, their
 * kinds and what they use, and a few ports and paths; each value taken from a page cites the
 * page's path. They do not publish the commands, the other ports or the health paths: the values
 * marked ASSUMPTION are this project's defaults (README, "Assumptions").
 */

/**
 * The Prefect server an installation runs: Customer-Managed Prefect Cloud (the private images and
 * their services), or the open-source server (`prefecthq/prefect`). It decides the catalog, the
 * databases and the Redis instances; the platform, edge and data layers are the same.
 */
export const EDITIONS = ['customer-managed', 'open-source'] as const;
export type Edition = (typeof EDITIONS)[number];

// reference/database-flags: "all three PostgreSQL databases … Events, Nebula, Orion".
const CUSTOMER_MANAGED_DATABASES = ['events', 'nebula', 'orion'] as const;
// docs/v3/advanced/self-hosted: one database, `…@host:5432/prefect`.
const OPEN_SOURCE_DATABASES = ['prefect'] as const;
/** Every database name of every edition (configuration keys, Secret ids). */
export const DATABASES = [...CUSTOMER_MANAGED_DATABASES, ...OPEN_SOURCE_DATABASES] as const;
export type DatabaseName = (typeof DATABASES)[number];

// overview/infra-services: "three dedicated instances (one per role)": Cache, Work, Streams.
const CUSTOMER_MANAGED_REDIS = ['cache', 'work', 'streams'] as const;
// docs/v3/advanced/self-hosted: one Redis for the message broker, the cache, causal ordering,
// lease storage and Docket.
const OPEN_SOURCE_REDIS = ['messaging'] as const;
/** Every Redis instance of every edition. */
export const REDIS_INSTANCES = [...CUSTOMER_MANAGED_REDIS, ...OPEN_SOURCE_REDIS] as const;
export type RedisName = (typeof REDIS_INSTANCES)[number];

/** The databases an edition's installation has. */
export function databasesOf(edition: Edition): readonly DatabaseName[] {
  return edition === 'open-source' ? OPEN_SOURCE_DATABASES : CUSTOMER_MANAGED_DATABASES;
}

/** The Redis instances an edition's installation has. */
export function redisInstancesOf(edition: Edition): readonly RedisName[] {
  return edition === 'open-source' ? OPEN_SOURCE_REDIS : CUSTOMER_MANAGED_REDIS;
}

/**
 * What a service uses Redis for: one of the three instances by its role, or a role that lives on
 * one of them (`redis.roles`). Prefect names the concurrency-leases role beside the cache for the
 * orion migration (upgrade-guide, "Upgrade from 0.8.x"); which instance holds it, it leaves open.
 */
export const REDIS_ROLES = [...REDIS_INSTANCES, 'concurrency-leases'] as const;
export type RedisRole = (typeof REDIS_ROLES)[number];
/** The roles that are not instances of their own, and where they live by default. */
export const SHARED_REDIS_ROLES = { 'concurrency-leases': 'work' } as const satisfies Record<string, RedisName>;
export type SharedRedisRole = keyof typeof SHARED_REDIS_ROLES;

/** The instance that holds `role`: its own, or the one `redis.roles` names. */
export function redisInstanceFor(roles: Readonly<Record<SharedRedisRole, RedisName>>, role: RedisRole): RedisName {
  return role in roles ? roles[role as SharedRedisRole] : (role as RedisName);
}

/**
 * web: stateless HTTP, routed and scalable; background and consumer: scalable workers driven by
 * Redis; loop: a singleton that must never run twice at once.
 */
// overview/prefect-services: "Loop Services … Must run as singletons"; the other three scale out.
export const SERVICE_TYPES = ['web', 'background', 'consumer', 'loop'] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];

export const PREFECT_IMAGES = ['server', 'ui', 'prefect'] as const;
export type PrefectImage = (typeof PREFECT_IMAGES)[number];

export interface ServiceResources {
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits?: { readonly cpu?: string; readonly memory: string };
}

export interface HealthPaths {
  /** Process only: restarting never fixes a database outage. */
  readonly liveness: string;
  /** Dependencies too (database reachable), so traffic only reaches pods that can serve it. */
  readonly readiness: string;
}

/**
 * Connections a service opens to addresses outside the cluster (TCP), rendered as a NetworkPolicy
 * `ipBlock` egress rule. Names cannot be allowed at this layer: a webhook's or an identity
 * provider's addresses are not known in advance, so the rule allows a range on some ports.
 */
export interface EgressDestination {
  /** A network range, e.g. "0.0.0.0/0" (every IPv4 address) or "::/0" (every IPv6 address). */
  readonly cidr: string;
  /**
   * Ranges inside `cidr` that stay closed.
   * @default - the cluster's private ranges that lie inside `cidr` (`cluster.privateRanges`), so
   * that "the internet" never includes the cluster's own pods, services, nodes and metadata endpoints
   */
  readonly except?: readonly string[];
  readonly ports: readonly number[];
}

/** A consumer group of a Redis stream. */
export interface StreamConsumer {
  readonly stream: string;
  readonly group: string;
}

export interface ServiceDefinition {
  readonly name: string;
  readonly type: ServiceType;
  /**
   * `server` is `<registry>/cloud/server:<tag>`, `ui` is `<registry>/cloud/ui:<tag>` (Customer-Managed);
   * `prefect` is `<registry>/prefect:<tag>` (the open-source server).
   */
  readonly image: PrefectImage;
  /** ASSUMPTION for every entry: the entrypoint of the customer-managed images. */
  readonly command: readonly string[];
  readonly args: readonly string[];
  /** Web services: the container port. */
  readonly port?: number;
  readonly health?: HealthPaths;
  /**
   * Web services: where Prometheus reads the service's metrics. monitoring: "Each Prefect web
   * service exposes a Prometheus-compatible /metrics endpoint. For example: auth:4300/metrics" —
   * on the service's own address; a `port` apart from `port` gets a port of its own ("metrics").
   */
  readonly metrics?: { readonly path: string; readonly port?: number };
  /** Web services: which public host routes to it; `internal` ones are not routed. */
  readonly host?: 'api' | 'app' | 'both' | 'internal';
  /** Long-lived websocket connections (events in/out). */
  readonly websockets?: boolean;
  /**
   * The Redis streams and consumer groups it reads (on its `streams` or `messaging` instance):
   * its backlog, which `autoscaling.backlog` scales it on.
   * @default - none known: the service scales on CPU
   */
  readonly backlog?: readonly StreamConsumer[];
  readonly databases: readonly DatabaseName[];
  readonly redis: readonly RedisRole[];
  /** Replicas at the HPA minimum; `prefect.replicas` raises scalable services to at least that. */
  readonly replicas: number;
  readonly maxReplicas: number;
  readonly resources: ServiceResources;
  /**
   * Outbound connections outside the cluster (webhooks, identity providers, cloud APIs).
   * @default - none: the service reaches only DNS, istiod, its databases and Redis instances and
   * the other services' web ports
   */
  readonly egress?: readonly EgressDestination[];
}

const SERVER_COMMAND = ['prefect-cloud'] as const;
const small: ServiceResources = { requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '1Gi' } };
const medium: ServiceResources = { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '2Gi' } };
const apiHealth: HealthPaths = { liveness: '/api/health', readiness: '/api/ready' };
/** monitoring: every web service serves /metrics on its own port. */
const METRICS = { path: '/metrics' } as const;
/**
 * HTTPS to any public address, IPv4 and IPv6 (the cluster's private ranges stay closed). ASSUMPTION:
 * the services that call out (actions: webhooks and notification services; work-pools: the cloud
 * APIs of push work pools; auth with single sign-on: the identity providers) do so over HTTPS on 443.
 */
export const INTERNET_HTTPS: readonly EgressDestination[] = [
  { cidr: '0.0.0.0/0', ports: [443] },
  { cidr: '::/0', ports: [443] },
];

/** The default catalog of Customer-Managed Prefect services. */
export const DEFAULT_CATALOG: readonly ServiceDefinition[] = [
  {
    name: 'ui',
    type: 'web',
    image: 'ui',
    command: [],
    args: [],
    port: 8080,
    health: { liveness: '/', readiness: '/' },
    // The UI serves the browser application; the metrics are the FastAPI services' (prefect-services).
    host: 'app',
    databases: [],
    redis: [],
    replicas: 1,
    maxReplicas: 4,
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
  },
  {
    name: 'auth',
    type: 'web',
    image: 'server',
    command: SERVER_COMMAND,
    args: ['serve', 'auth'],
    // monitoring: auth:4300/metrics, the auth service's address.
    port: 4300,
    health: apiHealth,
    metrics: METRICS,
    host: 'api',
    databases: ['nebula'],
    redis: ['cache'],
    replicas: 1,
    maxReplicas: 6,
    resources: small,
  },
  {
    name: 'nebula',
    type: 'web',
    image: 'server',
    command: SERVER_COMMAND,
    args: ['serve', 'nebula'],
    port: 8080,
    health: apiHealth,
    metrics: METRICS,
    host: 'api',
    databases: ['nebula'],
    redis: ['cache'],
    replicas: 1,
    maxReplicas: 10,
    resources: medium,
  },
  {
    name: 'server',
    type: 'web',
    image: 'server',
    command: SERVER_COMMAND,
    args: ['serve', 'server'],
    port: 8080,
    health: apiHealth,
    metrics: METRICS,
    host: 'api',
    databases: ['orion'],
    // ASSUMPTION: the API holds tag-based concurrency limits as leases in Redis since the January
    // 2026 release (upgrade-guide); the docs name the role for its migration only.
    redis: ['cache', 'work', 'concurrency-leases'],
    replicas: 1,
    maxReplicas: 10,
    resources: medium,
  },
  {
    name: 'events',
    type: 'web',
    image: 'server',
    command: SERVER_COMMAND,
    args: ['serve', 'events'],
    port: 8080,
    health: apiHealth,
    metrics: METRICS,
    host: 'api',
    websockets: true,
    databases: ['events'],
    redis: ['streams'],
    replicas: 1,
    maxReplicas: 10,
    resources: medium,
  },
  {
    name: 'server-background',
    type: 'background',
    image: 'server',
    command: SERVER_COMMAND,
    args: ['run', 'server-background'],
    databases: ['orion'],
    redis: ['work', 'concurrency-leases'],
    replicas: 1,
    maxReplicas: 6,
    resources: medium,
  },
  {
    name: 'work-pools',
    type: 'background',
    image: 'server',
    command: SERVER_COMMAND,
    args: ['run', 'work-pools'],
    databases: ['orion'],
    redis: ['work'],
    replicas: 1,
    maxReplicas: 4,
    resources: small,
    egress: INTERNET_HTTPS,
  },
  {
    name: 'actions',
    type: 'background',
    image: 'server',
    command: SERVER_COMMAND,
    args: ['run', 'actions'],
    databases: ['orion', 'events'],
    redis: ['streams'],
    replicas: 1,
    maxReplicas: 4,
    resources: small,
    egress: INTERNET_HTTPS,
  },
  {
    name: 'ladler',
    type: 'consumer',
    image: 'server',
    command: SERVER_COMMAND,
    args: ['run', 'ladler'],
    databases: ['events'],
    redis: ['streams'],
    replicas: 1,
    maxReplicas: 6,
    resources: small,
  },
  {
    name: 'triggers-reactive',
    type: 'consumer',
    image: 'server',
    command: SERVER_COMMAND,
    args: ['run', 'triggers-reactive'],
    databases: ['events'],
    redis: ['streams'],
    replicas: 1,
    maxReplicas: 4,
    resources: small,
  },
  {
    name: 'triggers-proactive',
    type: 'loop',
    image: 'server',
    command: SERVER_COMMAND,
    args: ['run', 'triggers-proactive'],
    databases: ['events'],
    redis: ['streams'],
    replicas: 1,
    maxReplicas: 1,
    resources: small,
  },
];

/** The open-source server's port (docs/v3/advanced/self-hosted: `--port 4200`). */
export const OPEN_SOURCE_PORT = 4200;

/**
 * The open-source server (docs/v3/advanced/self-hosted, "Service separation"): API servers with
 * `--no-services` behind the load balancer, serving the UI as well, and the background services
 * apart (`prefect server services start`), scaled out through Docket on Redis.
 */
export const OPEN_SOURCE_CATALOG: readonly ServiceDefinition[] = [
  {
    name: 'api',
    type: 'web',
    image: 'prefect',
    command: ['prefect', 'server', 'start'],
    args: ['--host', '0.0.0.0', '--port', String(OPEN_SOURCE_PORT), '--no-services'],
    port: OPEN_SOURCE_PORT,
    // docs/v3/advanced/self-hosted, "Load balancer configuration": the health endpoint is /api/health;
    // /api/ready answers once the database is reachable. Both answer without the API's basic auth.
    health: apiHealth,
    // The API's /metrics (mounted under /api), with PREFECT_SERVER_METRICS_ENABLED.
    metrics: { path: '/api/metrics' },
    // The UI on the app host, the API on the api host (PREFECT_UI_API_URL): one process serves both.
    host: 'both',
    websockets: true,
    databases: ['prefect'],
    redis: ['messaging'],
    replicas: 1,
    maxReplicas: 6,
    resources: medium,
  },
  {
    name: 'background',
    type: 'background',
    image: 'prefect',
    command: ['prefect', 'server', 'services', 'start'],
    args: [],
    databases: ['prefect'],
    redis: ['messaging'],
    // prefect 3.9.1 with prefect-redis: the consumers of the messaging broker among the services
    // it starts (prefect/server/events/services/event_persister.py, triggers.py, actions.py,
    // prefect/server/services/task_run_recorder.py), each stream named after its topic. The
    // end-to-end test finds these groups on the real Redis after an event went through.
    backlog: [
      { stream: 'events', group: 'event-persister' },
      { stream: 'events', group: 'reactive-triggers' },
      { stream: 'events', group: 'task-run-recorder' },
      { stream: 'actions', group: 'actions' },
    ],
    replicas: 1,
    maxReplicas: 4,
    resources: medium,
  },
];

/** The default catalog of an edition. */
export function catalogOf(edition: Edition): readonly ServiceDefinition[] {
  return edition === 'open-source' ? OPEN_SOURCE_CATALOG : DEFAULT_CATALOG;
}
