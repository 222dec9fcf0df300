import type { Edition, ServiceDefinition } from '../../catalog/services';
import type { EnvironmentConfig } from '../../config/load';
import { durationMilliseconds } from '../../core/duration';

/*
 * The route table: data, not code. Each route sends requests for one public host whose path
 * matches any of its conditions to one web service of the catalog. Istio evaluates a
 * VirtualService's routes in order and the first match wins, so the table lists the most
 * specific routes first. `routes` in config/<env>.yaml replaces the table or tunes routes by name.
 *
 * Istio's matching, which the table is written for:
 * - `prefix` is a plain string prefix: `/api` also matches `/apifoo`. Write `/api/` (plus an
 *   `exact: /api`) to mean "the /api tree".
 * - `exact` is the whole path; a trailing slash is a different path.
 * - `regex` is RE2 and must match the whole path (it is anchored).
 * - All of them are case-sensitive and ignore the query string.
 *
 * Which paths each Prefect service serves is not public: the default table is this project's
 * ASSUMPTION, derived from the Prefect Cloud API's URL layout (README, "Assumptions").
 */

export type PublicHost = 'api' | 'app';

export type PathMatch = { readonly prefix: string } | { readonly exact: string } | { readonly regex: string };

export interface RouteRetries {
  /** 0 switches retries off. */
  readonly attempts: number;
  readonly perTryTimeout?: string;
  /** Envoy retry conditions, comma-separated. */
  readonly retryOn?: string;
}

export interface RouteDefinition {
  /** Names the route in the VirtualService and in messages. */
  readonly name: string;
  readonly host: PublicHost;
  /** Any of these conditions selects the route. */
  readonly match: readonly PathMatch[];
  /** A web service of the catalog. */
  readonly backend: string;
  /**
   * The backend's port; must equal the catalog's.
   * @default - the catalog's port
   */
  readonly port?: number;
  /**
   * The request timeout; "0s" switches it off.
   * @default DEFAULT_TIMEOUT ('60s'), none for websocket routes
   */
  readonly timeout?: string;
  /** @default DEFAULT_RETRIES, none for websocket routes */
  readonly retries?: RouteRetries;
  /**
   * Long-lived websocket connections: no timeout and no retries; the backend must accept
   * websockets (catalog `websockets: true`).
   * @default false
   */
  readonly websocket?: boolean;
}

/** A route checked against the catalog, with every default filled in. */
export interface ResolvedRoute {
  readonly name: string;
  readonly host: PublicHost;
  readonly match: readonly PathMatch[];
  readonly backend: ServiceDefinition;
  readonly port: number;
  /** undefined: no timeout (Istio's default). */
  readonly timeout?: string;
  readonly retries: RouteRetries;
  readonly websocket: boolean;
}

export const DEFAULT_TIMEOUT = '60s';

/**
 * Retries only where the request cannot have reached the application (connection refused or
 * reset before any byte was sent, gRPC unavailable/cancelled), so that non-idempotent API calls
 * (creating a flow run) are never sent twice.
 */
export const DEFAULT_RETRIES: RouteRetries = { attempts: 2, retryOn: 'connect-failure,refused-stream,unavailable,cancelled' };

const NO_RETRIES: RouteRetries = { attempts: 0 };

/** `/api/accounts/<account>/workspaces/<workspace>`: one path segment each. */
const WORKSPACE = '/api/accounts/[^/]+/workspaces/[^/]+';

/** The default route table, most specific first. */
export const DEFAULT_ROUTES: readonly RouteDefinition[] = [
  // `/auth` and its tree, but not `/authz`.
  { name: 'auth', host: 'api', match: [{ exact: '/auth' }, { prefix: '/auth/' }], backend: 'auth', timeout: '30s' },
  // The event streams: clients send events in and subscribe to them over websockets.
  {
    name: 'events-websockets',
    host: 'api',
    match: [{ exact: '/api/events/in' }, { exact: '/api/events/out' }, { regex: `${WORKSPACE}/events/(in|out)` }],
    backend: 'events',
    websocket: true,
  },
  // Every other workspace-scoped event path (filter, count), with or without a trailing part.
  { name: 'events', host: 'api', match: [{ regex: `${WORKSPACE}/events(/.*)?` }], backend: 'events' },
  // The workspace-scoped Prefect server API (orion). The workspace itself is nebula's.
  { name: 'server', host: 'api', match: [{ regex: `${WORKSPACE}/.*` }], backend: 'server' },
  // The rest of the API: accounts, workspaces, users, billing.
  { name: 'nebula', host: 'api', match: [{ exact: '/api' }, { prefix: '/api/' }], backend: 'nebula' },
  // The web UI serves everything on its own host.
  { name: 'ui', host: 'app', match: [{ prefix: '/' }], backend: 'ui', timeout: '30s' },
];

/**
 * The open-source server's table: one process serves the API under /api on the API host and the UI
 * on the app host (docs/v3/advanced/self-hosted, "Reverse proxy configuration": /api with
 * websockets, / for the UI). The websocket endpoints come first, without timeout or retries.
 */
export const OPEN_SOURCE_ROUTES: readonly RouteDefinition[] = [
  {
    name: 'api-websockets',
    host: 'api',
    match: [
      { exact: '/api/events/in' },
      { exact: '/api/events/out' },
      { exact: '/api/logs/out' },
      { exact: '/api/task_workers/subscribe' },
    ],
    backend: 'api',
    websocket: true,
  },
  { name: 'api', host: 'api', match: [{ exact: '/api' }, { prefix: '/api/' }], backend: 'api' },
  { name: 'ui', host: 'app', match: [{ prefix: '/' }], backend: 'api', timeout: '30s' },
];

/** The default route table of an edition. */
export function defaultRoutes(edition: Edition): readonly RouteDefinition[] {
  return edition === 'open-source' ? OPEN_SOURCE_ROUTES : DEFAULT_ROUTES;
}

/** An invalid route table: one line per problem, each naming the route. */
export class RouteTableError extends Error {
  constructor(public readonly problems: readonly string[]) {
    super(`invalid route table:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'RouteTableError';
  }
}

/** The environment's route table: the default (or `routes.table`) with `routes.overrides` applied. */
export function configuredRoutes(routes: EnvironmentConfig['routes'], edition: Edition = 'customer-managed'): RouteDefinition[] {
  const table: RouteDefinition[] = (routes.table ?? defaultRoutes(edition)).map((route) => ({ ...route }));
  const problems: string[] = [];
  for (const [name, override] of Object.entries(routes.overrides)) {
    const index = table.findIndex((route) => route.name === name);
    if (index < 0) {
      problems.push(
        `routes.overrides.${name}: expected the name of a route: ${table.map((route) => route.name).join(', ')} (no route is named "${name}")`,
      );
      continue;
    }
    const defined = Object.fromEntries(Object.entries(override).filter(([, value]) => value !== undefined));
    table[index] = { ...(table[index] as RouteDefinition), ...defined };
  }
  if (problems.length > 0) throw new RouteTableError(problems);
  return table;
}

/**
 * Checks the table against the catalog and fills in defaults. Throws a RouteTableError listing
 * every problem: unknown or unroutable backends, wrong ports, routes that can never match
 * because an earlier one catches all of their requests, and public web services without a route.
 */
export function resolveRoutes(
  table: readonly RouteDefinition[],
  catalog: readonly ServiceDefinition[],
  /** Services the configuration turns off (`enabled: false`), named as such when a route still goes to one. */
  disabled: readonly string[] = [],
): ResolvedRoute[] {
  const problems: string[] = [];
  const resolved: ResolvedRoute[] = [];
  const webServices = catalog.filter((service) => service.type === 'web');
  const seen = new Set<string>();

  table.forEach((route, index) => {
    const where = `route "${route.name}"`;
    const problemCount = problems.length;
    if (seen.has(route.name)) problems.push(`${where}: expected a name of its own: the name is used twice`);
    seen.add(route.name);
    if (route.match.length === 0) problems.push(`${where}: expected at least one match condition: a prefix, exact or regex`);
    for (const match of route.match) {
      const problem = checkMatch(match);
      if (problem) problems.push(`${where}: ${describeMatch(match)}: expected ${problem}`);
    }

    const backend = catalog.find((service) => service.name === route.backend);
    if (!backend && disabled.includes(route.backend)) {
      problems.push(
        `${where}: expected a backend that runs: "${route.backend}" is turned off (prefect.services.${route.backend}.enabled: false); remove the route (routes.table) or keep the service`,
      );
    } else if (!backend) {
      problems.push(
        `${where}: expected a web service of the catalog as backend (${webServices.map((service) => service.name).join(', ')}), got "${route.backend}"`,
      );
    } else if (backend.type !== 'web' || backend.port === undefined) {
      problems.push(
        `${where}: expected a web service as backend: "${route.backend}" is a ${backend.type} service; only web services serve requests`,
      );
    } else if (backend.host === 'internal' || backend.host === undefined) {
      problems.push(`${where}: expected a backend routed from outside: "${route.backend}" is internal (catalog host: internal)`);
    } else if (backend.host !== route.host && backend.host !== 'both') {
      problems.push(`${where}: expected a backend on the ${route.host} host: "${route.backend}" serves the ${backend.host} host (catalog)`);
    } else if (route.port !== undefined && route.port !== backend.port) {
      problems.push(`${where}: expected the port of "${route.backend}" (${backend.port} in the catalog), got ${route.port}`);
    }

    const websocket = route.websocket ?? false;
    if (websocket && backend && backend.websockets !== true) {
      problems.push(
        `${where}: expected a backend that accepts websockets for a websocket route: "${route.backend}" does not (catalog websockets: false)`,
      );
    }
    if (websocket && route.timeout !== undefined && !isZero(route.timeout)) {
      problems.push(
        `${where}: expected no timeout (or "0s") on a websocket route, got ${route.timeout}: it would cut long-lived connections`,
      );
    }
    if (websocket && route.retries !== undefined && route.retries.attempts > 0) {
      problems.push(`${where}: expected no retries (or attempts: 0) on a websocket route, got attempts: ${route.retries.attempts}`);
    }
    for (const [field, value] of [
      ['timeout', route.timeout],
      ['retries.perTryTimeout', route.retries?.perTryTimeout],
    ] as const) {
      if (value === undefined) continue;
      const milliseconds = durationMilliseconds(value);
      if (milliseconds === undefined) problems.push(`${where}: ${field}: expected a duration such as "30s", got ${JSON.stringify(value)}`);
      else if (milliseconds > 0 && milliseconds < 1)
        problems.push(`${where}: ${field}: expected at least Istio's minimum of 1ms, got ${value}`);
      else if (milliseconds === 0 && field !== 'timeout')
        problems.push(`${where}: ${field}: expected a duration above 0 (remove it to use the route timeout)`);
    }

    // An earlier match (of an earlier route, or of this route) that catches every request of
    // this match makes it dead: usually a more general route listed before a specific one.
    for (const match of route.match) {
      for (const earlier of table.slice(0, index + 1)) {
        if (earlier.host !== route.host) continue;
        const candidates = earlier === route ? route.match.slice(0, route.match.indexOf(match)) : earlier.match;
        const cover = candidates.find((candidate) => covers(candidate, match));
        if (cover) {
          const by =
            earlier === route
              ? `its own earlier ${describeMatch(cover)}`
              : `route "${earlier.name}" (${describeMatch(cover)}), listed before it,`;
          problems.push(
            `${where}: ${describeMatch(match)}: expected a match that can be reached: ${by} already catches every such request; put the more specific route first`,
          );
          break;
        }
      }
    }

    if (problems.length > problemCount || !backend || backend.port === undefined) return;
    const timeout = websocket || route.timeout === undefined ? (websocket ? undefined : DEFAULT_TIMEOUT) : route.timeout;
    resolved.push({
      name: route.name,
      host: route.host,
      match: route.match,
      backend,
      port: backend.port,
      ...(timeout !== undefined && !isZero(timeout) ? { timeout } : {}),
      retries: websocket ? NO_RETRIES : (route.retries ?? DEFAULT_RETRIES),
      websocket,
    });
  });

  for (const service of webServices) {
    if (service.host === 'internal' || service.host === undefined) continue;
    const hosts: readonly PublicHost[] = service.host === 'both' ? ['api', 'app'] : [service.host];
    for (const host of hosts) {
      if (!table.some((route) => route.backend === service.name && route.host === host)) {
        problems.push(
          `service "${service.name}": expected a route on the ${host} host (catalog host: ${service.host}); add one, or mark it internal (prefect.services.${service.name}.host: internal)`,
        );
      }
    }
  }

  if (problems.length > 0) throw new RouteTableError(problems);
  return resolved;
}

/** The routed web services, each once, in table order. */
export function routedBackends(routes: readonly ResolvedRoute[]): ServiceDefinition[] {
  const backends: ServiceDefinition[] = [];
  for (const route of routes) if (!backends.includes(route.backend)) backends.push(route.backend);
  return backends;
}

export function describeMatch(match: PathMatch): string {
  if ('prefix' in match) return `prefix "${match.prefix}"`;
  if ('exact' in match) return `exact "${match.exact}"`;
  return `regex "${match.regex}"`;
}

function isZero(duration: string): boolean {
  return durationMilliseconds(duration) === 0;
}

function checkMatch(match: PathMatch): string | undefined {
  if ('regex' in match) {
    // RE2 has no lookaround and no backreferences; JavaScript would accept them silently.
    if (/\(\?[=!<]|\\[1-9]/.test(match.regex)) return 'a pattern without lookaround and backreferences, which RE2 (Istio) does not support';
    // Istio's validation rejects longer ones (Envoy's RE2 program size limit).
    if (match.regex.length > 1024) return `at most 1024 characters, which Istio accepts, got ${match.regex.length}`;
    try {
      new RegExp(match.regex);
    } catch (error) {
      return `a valid regular expression (${(error as Error).message})`;
    }
    return undefined;
  }
  const path = 'prefix' in match ? match.prefix : match.exact;
  if (!path.startsWith('/')) return 'a path that starts with "/"';
  if (/[?#\s]/.test(path)) return 'a path without "?", "#" or white space (Istio matches the path without the query string)';
  return undefined;
}

/**
 * Whether every path that `later` matches is also matched by `earlier`, so that `later` can
 * never be selected. Conservative for regexes: true only when that is certain.
 */
export function covers(earlier: PathMatch, later: PathMatch): boolean {
  if ('prefix' in earlier) {
    if ('prefix' in later) return later.prefix.startsWith(earlier.prefix);
    if ('exact' in later) return later.exact.startsWith(earlier.prefix);
    return regexLiteralPrefix(later.regex).startsWith(earlier.prefix);
  }
  if ('exact' in earlier) {
    if ('exact' in later) return later.exact === earlier.exact;
    if ('regex' in later) return regexLiteral(later.regex) === earlier.exact;
    return false;
  }
  if ('exact' in later) return fullMatch(earlier.regex, later.exact);
  if ('regex' in later) return later.regex === earlier.regex;
  // A regex `<literal>.*` is a prefix match in disguise.
  const body = stripAnchors(earlier.regex);
  const literal = body.endsWith('.*') ? regexLiteral(body.slice(0, -2)) : undefined;
  return literal !== undefined && later.prefix.startsWith(literal);
}

/** Whether `regex`, anchored as Istio applies it, matches `path`; false when it does not compile. */
function fullMatch(regex: string, path: string): boolean {
  try {
    return new RegExp(`^(?:${regex})$`).test(path);
  } catch {
    return false;
  }
}

const REGEX_META = new Set([...'.[](){}*+?|^$\\']);

/**
 * The literal text every path matched by `regex` starts with: the characters before the first
 * construct that is not a literal (a character that a quantifier makes optional is dropped).
 * '' when the regex has a top-level alternative.
 */
export function regexLiteralPrefix(regex: string): string {
  if (hasTopLevelAlternation(regex)) return '';
  let literal = '';
  for (let index = regex.startsWith('^') ? 1 : 0; index < regex.length; index++) {
    const char = regex[index] as string;
    if (char === '\\') {
      const next = regex[index + 1];
      if (next === undefined || /[A-Za-z0-9]/.test(next)) break; // \d, \w, \b … are classes, not literals
      literal += next;
      index++;
      continue;
    }
    if (char === '?' || char === '*' || char === '{') return literal.slice(0, -1);
    if (REGEX_META.has(char)) return literal;
    literal += char;
  }
  return literal;
}

/** The one string a regex without any regex construct matches, or undefined. */
function regexLiteral(regex: string): string | undefined {
  const body = stripAnchors(regex);
  let literal = '';
  for (let index = 0; index < body.length; index++) {
    const char = body[index] as string;
    if (char === '\\') {
      const next = body[index + 1];
      if (next === undefined || /[A-Za-z0-9]/.test(next)) return undefined;
      literal += next;
      index++;
    } else if (REGEX_META.has(char)) {
      return undefined;
    } else {
      literal += char;
    }
  }
  return literal;
}

function stripAnchors(regex: string): string {
  return regex.replace(/^\^/, '').replace(/(?<!\\)\$$/, '');
}

function hasTopLevelAlternation(regex: string): boolean {
  let depth = 0;
  let inClass = false;
  for (let index = 0; index < regex.length; index++) {
    const char = regex[index];
    if (char === '\\') {
      index++;
    } else if (inClass) {
      if (char === ']') inClass = false;
    } else if (char === '[') {
      inClass = true;
    } else if (char === '(') {
      depth++;
    } else if (char === ')') {
      depth--;
    } else if (char === '|' && depth === 0) {
      return true;
    }
  }
  return false;
}

export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, (char) => (char === '/' || char === '-' ? char : `\\${char}`));
}
