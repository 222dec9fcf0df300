import { describe, expect, it } from 'vitest';
import { DEFAULT_CATALOG, type ServiceDefinition } from '../../../lib/catalog/services';
import { ACME_CHALLENGE_PATH, pathsNotUnder } from '../../../lib/edge/ingress-gateway';
import type { RenderedEnvironment } from '../../../lib/output/render';
import {
  configuredRoutes,
  covers,
  DEFAULT_ROUTES,
  regexLiteralPrefix,
  resolveRoutes,
  RouteTableError,
  type RouteDefinition,
} from '../../../lib/edge/routes/routes';
import { buildVariant } from '../../config-variants';
import { build, findObject } from '../../helpers';
import { routeRequest } from './istio-routing';

const API = 'api.prefect.example.com';
const APP = 'app.prefect.example.com';
const prod = build('prod');
const staging = build('staging');

const backend = (service: string) => `${service}.prefect.svc.cluster.local`;

/** Where the prod gateway sends a request: "<route> -> <service>", or "404". */
function resolve(rendered: RenderedEnvironment, host: string, path: string, gateway = 'istio-ingress/prefect'): string {
  const decision = routeRequest(rendered, gateway, host, path);
  if (decision.kind === 'not-found') return '404';
  if (decision.kind === 'redirect') return `redirect ${decision.scheme} ${decision.code}`;
  if (decision.kind === 'direct') return `${decision.status} from ${decision.route}`;
  return `${decision.route} -> ${decision.host.split('.')[0]}`;
}

describe('routing through the generated VirtualServices', () => {
  it.each([
    // The API host.
    [API, '/auth', 'auth -> auth'],
    [API, '/auth/', 'auth -> auth'],
    [API, '/auth/login?next=/', 'auth -> auth'],
    [API, '/authz', '404'],
    [API, '/Auth', '404'],
    [API, '/api', 'nebula -> nebula'],
    [API, '/api/', 'nebula -> nebula'],
    [API, '/api/me', 'nebula -> nebula'],
    [API, '/apifoo', '404'],
    [API, '/API/me', '404'],
    [API, '/', '404'],
    [API, '/api/accounts/x', 'nebula -> nebula'],
    [API, '/api/accounts/x/workspaces/y', 'nebula -> nebula'],
    [API, '/api/accounts/x/workspaces/y/', 'server -> server'],
    [API, '/api/accounts/x/workspaces/y/flows/filter', 'server -> server'],
    [API, '/api/accounts/x/workspaces/y/flows/filter?limit=10', 'server -> server'],
    [API, '/api/accounts/x/workspaces/y/events/in', 'events-websockets -> events'],
    [API, '/api/accounts/x/workspaces/y/events/out', 'events-websockets -> events'],
    [API, '/api/accounts/x/workspaces/y/events/in?token=t', 'events-websockets -> events'],
    [API, '/api/accounts/x/workspaces/y/events/in/', 'events -> events'],
    [API, '/api/accounts/x/workspaces/y/events', 'events -> events'],
    [API, '/api/accounts/x/workspaces/y/events/filter', 'events -> events'],
    [API, '/api/accounts/x/workspaces/y/eventsfoo', 'server -> server'],
    [API, '/api/accounts/x/workspaces/y/EVENTS/in', 'server -> server'],
    [API, '/api/accounts/x/z/workspaces/y/events/in', 'nebula -> nebula'],
    [API, '/api/events/in', 'events-websockets -> events'],
    [API, '/api/events/out', 'events-websockets -> events'],
    [API, '/api/events/in/', 'nebula -> nebula'],
    [API, '/api/events/inx', 'nebula -> nebula'],
    [API.toUpperCase(), '/api/me', 'nebula -> nebula'],
    // The UI host serves everything, the API's paths included.
    [APP, '/', 'ui -> ui'],
    [APP, '/flows/runs', 'ui -> ui'],
    [APP, '/api/me', 'ui -> ui'],
    // Any other host: nothing.
    ['prefect.example.com', '/api/me', '404'],
  ])('%s %s -> %s', (host, path, expected) => {
    expect(resolve(prod, host, path)).toBe(expected);
  });

  it('routes to each backend on its catalog port', () => {
    const decision = routeRequest(prod, 'istio-ingress/prefect', API, '/api/me');
    expect(decision).toMatchObject({ kind: 'route', host: backend('nebula'), port: 8080, timeout: '60s', retries: 2 });
  });

  it('keeps websockets open: no timeout, no retries', () => {
    const decision = routeRequest(prod, 'istio-ingress/prefect', API, '/api/events/in');
    expect(decision).toMatchObject({ kind: 'route', host: backend('events'), port: 8080, retries: 0 });
    expect(decision.kind === 'route' && decision.timeout).toBeUndefined();
  });

  it('serves one VirtualService per public host, on the main Gateway', () => {
    for (const [name, host] of [
      ['prefect-api', API],
      ['prefect-app', APP],
    ] as const) {
      const vs = findObject(prod, 'VirtualService', name, 'istio-ingress');
      expect(vs.spec).toMatchObject({ hosts: [host], gateways: ['istio-ingress/prefect'], exportTo: ['.'] });
    }
  });
});

describe('maintenance mode (faq)', () => {
  const maintenance = buildVariant('prod', { maintenance: { retryAfter: 900 } });
  const gateway = 'istio-ingress/prefect';

  it.each([
    [API, '/load-balancer/health-check', 'GET', 200],
    [APP, '/load-balancer/health-check', 'GET', 200],
    [API, '/load-balancer/health-check', 'POST', 503],
    [API, '/load-balancer/health-check/x', 'GET', 503],
    [API, '/api/accounts/x/workspaces/y/flows/filter', 'POST', 503],
    [API, '/auth/login', 'GET', 503],
    [APP, '/', 'GET', 503],
    [APP, '/dashboard', 'GET', 503],
  ])('answers %s %s (%s) itself with %i', (host, path, method, status) => {
    const decision = routeRequest(maintenance, gateway, host, path, method);
    expect(decision.kind).toBe('direct');
    if (decision.kind !== 'direct') return;
    expect(decision.status).toBe(status);
    expect(decision.headers['content-type']).toBe('application/json');
    expect(decision.headers['retry-after']).toBe(status === 503 ? '900' : undefined);
  });

  it('retries after 300 seconds with maintenance: true, and routes normally without it', () => {
    const on = buildVariant('prod', { maintenance: true });
    const decision = routeRequest(on, gateway, API, '/auth/login');
    expect(decision.kind === 'direct' && decision.headers['retry-after']).toBe('300');
    expect(resolve(prod, API, '/load-balancer/health-check')).toBe('404');
    expect(resolve(prod, API, '/auth/login')).toBe('auth -> auth');
  });

  it('keeps the backends wired, so that turning it off changes the routes only', () => {
    const kinds = (rendered: RenderedEnvironment) =>
      rendered.objects
        .filter(({ object }) => object.kind !== 'VirtualService' && object.kind !== 'Kustomization')
        .map(({ text }) => text)
        .sort();
    expect(kinds(maintenance)).toEqual(kinds(prod));
  });

  it('refuses a Retry-After that is not a whole number of seconds', () => {
    expect(() => buildVariant('prod', { maintenance: { retryAfter: '5m' } })).toThrow('config/prod.yaml: maintenance');
    expect(() => buildVariant('prod', { maintenance: 'yes' })).toThrow('config/prod.yaml: maintenance');
  });
});

describe('routing when TLS ends in front of the gateway', () => {
  const certificate = 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789';
  const nlb = buildVariant('prod', { loadBalancer: { mode: 'l7', certificate } });
  const proxy = buildVariant('prod', { loadBalancer: { mode: 'l7', provider: 'gcp', externalDns: false, sourceRanges: [] } });
  const samples: ReadonlyArray<readonly [string, string]> = [
    [API, '/auth'],
    [API, '/api/me'],
    [API, '/apifoo'],
    [API, '/api/accounts/x/workspaces/y/events/in'],
    [API, '/api/accounts/x/workspaces/y/flows/filter'],
    [APP, '/flows/runs'],
  ];

  it.each([
    ['an NLB TLS listener', nlb],
    ['an HTTP(S) proxy', proxy],
  ])('routes every request as with TLS at the gateway, behind %s', (_, rendered) => {
    for (const [host, path] of samples) expect(resolve(rendered, host, path), `${host}${path}`).toBe(resolve(prod, host, path));
  });

  it('redirects port 80 at the server behind an NLB, and has no port-80 Gateway behind an HTTP(S) proxy (the proxy redirects)', () => {
    const http = findObject(nlb, 'Gateway', 'prefect-http-redirect', 'istio-ingress');
    expect((http.spec as { servers: Array<{ port: { number: number }; tls?: unknown }> }).servers).toMatchObject([
      { port: { number: 80 }, tls: { httpsRedirect: true } },
    ]);
    expect(proxy.objects.some(({ object }) => object.kind === 'Gateway' && object.metadata.name === 'prefect-http-redirect')).toBe(false);
  });
});

describe('HTTP on port 80', () => {
  const gateway = 'istio-ingress/prefect-http-redirect';

  it('with ACME HTTP-01 redirects everything except the challenge path, which falls through to the solver', () => {
    expect(resolve(staging, 'api.prefect.staging.example.com', '/api/me', gateway)).toBe('redirect https 301');
    expect(resolve(staging, 'app.prefect.staging.example.com', '/', gateway)).toBe('redirect https 301');
    expect(resolve(staging, 'app.prefect.staging.example.com', '/.well-known/acme-challenge', gateway)).toBe('redirect https 301');
    expect(resolve(staging, 'app.prefect.staging.example.com', '/.well-known/security.txt', gateway)).toBe('redirect https 301');
    expect(resolve(staging, 'api.prefect.staging.example.com', '/.well-known/acme-challenge/Zm9vYmFy', gateway)).toBe('404');
    // The server itself must not redirect, or the challenge routes would be redirected too.
    const http = findObject(staging, 'Gateway', 'prefect-http-redirect', 'istio-ingress');
    expect((http.spec as { servers: Array<{ tls?: unknown }> }).servers[0]?.tls).toBeUndefined();
  });

  it('without HTTP-01 redirects at the server, with no VirtualService', () => {
    const http = findObject(prod, 'Gateway', 'prefect-http-redirect', 'istio-ingress');
    expect((http.spec as { servers: unknown[] }).servers).toEqual([
      { name: 'http', port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: [`./${API}`, `./${APP}`], tls: { httpsRedirect: true } },
    ]);
    expect(prod.objects.some(({ object }) => object.kind === 'VirtualService' && object.metadata.name === 'prefect-http-redirect')).toBe(
      false,
    );
  });

  it('excludes exactly the paths under a prefix with pathsNotUnder', () => {
    const regex = new RegExp(`^(?:${pathsNotUnder(ACME_CHALLENGE_PATH)})$`);
    const under = ['/.well-known/acme-challenge/', '/.well-known/acme-challenge/abc', '/.well-known/acme-challenge/a/b'];
    const outside = [
      '/',
      '/.',
      '/.well-known',
      '/.well-known/',
      '/.well-known/acme-challenge',
      '/.well-known/acme-challengeX/a',
      '/.well-knownX/acme-challenge/a',
      '/api',
      '/x/.well-known/acme-challenge/a',
      '/.well-known/ACME-challenge/a',
    ];
    for (const path of under) expect(regex.test(path), path).toBe(false);
    for (const path of outside) expect(regex.test(path), path).toBe(true);
    // A character class needs its special characters escaped.
    const special = new RegExp(`^(?:${pathsNotUnder('/a-]^\\')})$`);
    expect(special.test('/a-]^\\x')).toBe(false);
    expect(special.test('/a-]^x')).toBe(true);
    expect(pathsNotUnder(ACME_CHALLENGE_PATH).length).toBeLessThanOrEqual(1024);
  });
});

describe('the route table', () => {
  const table = (changes: (routes: RouteDefinition[]) => RouteDefinition[]) => changes(DEFAULT_ROUTES.map((route) => ({ ...route })));
  const problems = (routes: readonly RouteDefinition[], catalog: readonly ServiceDefinition[] = DEFAULT_CATALOG): readonly string[] => {
    try {
      resolveRoutes(routes, catalog);
    } catch (error) {
      if (error instanceof RouteTableError) return error.problems;
      throw error;
    }
    throw new Error('expected the route table to be rejected');
  };
  const withRoute = (name: string, change: Partial<RouteDefinition>) =>
    table((routes) => routes.map((route) => (route.name === name ? { ...route, ...change } : route)));

  it('accepts the default table and fills in the defaults', () => {
    const routes = resolveRoutes(DEFAULT_ROUTES, DEFAULT_CATALOG);
    expect(routes.map((route) => [route.name, route.backend.name, route.port, route.timeout ?? 'none', route.retries.attempts])).toEqual([
      ['auth', 'auth', 4300, '30s', 2],
      ['events-websockets', 'events', 8080, 'none', 0],
      ['events', 'events', 8080, '60s', 2],
      ['server', 'server', 8080, '60s', 2],
      ['nebula', 'nebula', 8080, '60s', 2],
      ['ui', 'ui', 8080, '30s', 2],
    ]);
  });

  it('fails on an unknown backend', () => {
    expect(problems(withRoute('auth', { backend: 'authz' }))).toContain(
      'route "auth": expected a web service of the catalog as backend (ui, auth, nebula, server, events), got "authz"',
    );
  });

  it('fails on a backend that is not a web service', () => {
    expect(problems(withRoute('server', { backend: 'ladler' }))).toContain(
      'route "server": expected a web service as backend: "ladler" is a consumer service; only web services serve requests',
    );
  });

  it('fails on an internal backend', () => {
    const catalog = [
      ...DEFAULT_CATALOG,
      { ...(DEFAULT_CATALOG.find((s) => s.name === 'nebula') as ServiceDefinition), name: 'admin', host: 'internal' as const },
    ];
    const routes = [...DEFAULT_ROUTES, { name: 'admin', host: 'api' as const, match: [{ prefix: '/admin/' }], backend: 'admin' }];
    expect(problems(routes, catalog)).toEqual([
      'route "admin": expected a backend routed from outside: "admin" is internal (catalog host: internal)',
    ]);
  });

  it('fails on a backend of the other host', () => {
    expect(problems(withRoute('ui', { backend: 'nebula' }))).toContain(
      'route "ui": expected a backend on the app host: "nebula" serves the api host (catalog)',
    );
  });

  it('fails on a port that is not the catalog port', () => {
    expect(problems(withRoute('nebula', { port: 8000 }))).toEqual([
      'route "nebula": expected the port of "nebula" (8080 in the catalog), got 8000',
    ]);
  });

  it('fails on a route shadowed by an earlier, more general prefix', () => {
    const reordered = table((routes) => [
      ...routes.filter((route) => route.name === 'nebula'),
      ...routes.filter((route) => route.name !== 'nebula'),
    ]);
    const found = problems(reordered);
    expect(found).toContain(
      'route "server": regex "/api/accounts/[^/]+/workspaces/[^/]+/.*": expected a match that can be reached: route "nebula" (prefix "/api/"), listed before it, already catches every such request; put the more specific route first',
    );
    expect(found).toContain(
      'route "events-websockets": exact "/api/events/in": expected a match that can be reached: route "nebula" (prefix "/api/"), listed before it, already catches every such request; put the more specific route first',
    );
  });

  it('fails on an exact path that an earlier regex catches', () => {
    const routes = table((list) => [
      ...list,
      {
        name: 'events-legacy',
        host: 'api',
        match: [{ exact: '/api/accounts/a/workspaces/b/events/in' }],
        backend: 'events',
        websocket: true,
      },
    ]);
    expect(problems(routes)).toEqual([
      'route "events-legacy": exact "/api/accounts/a/workspaces/b/events/in": expected a match that can be reached: route "events-websockets" (regex "/api/accounts/[^/]+/workspaces/[^/]+/events/(in|out)"), listed before it, already catches every such request; put the more specific route first',
    ]);
  });

  it('fails on a prefix that an earlier "<literal>.*" regex catches', () => {
    const routes = table((list) => [{ name: 'catch-all', host: 'api', match: [{ regex: '/api/.*' }], backend: 'nebula' }, ...list]);
    const found = problems(routes);
    expect(found).toContain(
      'route "nebula": prefix "/api/": expected a match that can be reached: route "catch-all" (regex "/api/.*"), listed before it, already catches every such request; put the more specific route first',
    );
    // `/api` itself is not caught by `/api/.*`: the exact condition stays reachable.
    expect(found.some((problem) => problem.includes('exact "/api" can never match'))).toBe(false);
  });

  it('fails on a condition repeated within a route', () => {
    expect(problems(withRoute('nebula', { match: [{ prefix: '/api/' }, { prefix: '/api/v2/' }] }))).toContain(
      'route "nebula": prefix "/api/v2/": expected a match that can be reached: its own earlier prefix "/api/" already catches every such request; put the more specific route first',
    );
  });

  it('does not call overlapping regexes shadowed when neither contains the other for certain', () => {
    // `events` and `server` overlap (server's regex also matches event paths), but events comes first: fine.
    expect(() => resolveRoutes(DEFAULT_ROUTES, DEFAULT_CATALOG)).not.toThrow();
    expect(
      covers({ regex: '/api/accounts/[^/]+/workspaces/[^/]+/.*' }, { regex: '/api/accounts/[^/]+/workspaces/[^/]+/events(/.*)?' }),
    ).toBe(false);
  });

  it('fails on a public web service without a route', () => {
    expect(problems(table((routes) => routes.filter((route) => route.name !== 'ui')))).toEqual([
      'service "ui": expected a route on the app host (catalog host: app); add one, or mark it internal (prefect.services.ui.host: internal)',
    ]);
  });

  it('fails on a websocket route to a backend without websockets', () => {
    expect(problems(withRoute('nebula', { websocket: true }))).toContain(
      'route "nebula": expected a backend that accepts websockets for a websocket route: "nebula" does not (catalog websockets: false)',
    );
  });

  it('fails on a websocket route with a timeout or retries', () => {
    const found = problems(withRoute('events-websockets', { timeout: '30s', retries: { attempts: 2 } }));
    expect(found).toContain(
      'route "events-websockets": expected no timeout (or "0s") on a websocket route, got 30s: it would cut long-lived connections',
    );
    expect(found).toContain('route "events-websockets": expected no retries (or attempts: 0) on a websocket route, got attempts: 2');
  });

  it('fails on a duplicate route name', () => {
    const routes = table((list) => [...list, { name: 'auth', host: 'api', match: [{ prefix: '/oauth/' }], backend: 'auth' }]);
    expect(problems(routes)).toEqual(['route "auth": expected a name of its own: the name is used twice']);
  });

  it('fails on a regex that RE2 cannot run or that does not compile', () => {
    expect(problems(withRoute('server', { match: [{ regex: '/api/accounts/(?!x)[^/]+/.*' }] }))).toContain(
      'route "server": regex "/api/accounts/(?!x)[^/]+/.*": expected a pattern without lookaround and backreferences, which RE2 (Istio) does not support',
    );
    expect(problems(withRoute('server', { match: [{ regex: '/api/accounts/([^/]+/.*' }] }))[0]).toMatch(
      /^route "server": regex "\/api\/accounts\/\(\[\^\/\]\+\/\.\*": expected a valid regular expression/,
    );
  });

  it('fails on a path with a query string', () => {
    expect(problems(withRoute('nebula', { match: [{ exact: '/api' }, { prefix: '/api/?x' }] }))).toContain(
      'route "nebula": prefix "/api/?x": expected a path without "?", "#" or white space (Istio matches the path without the query string)',
    );
  });

  it("fails on a timeout below Istio's minimum of 1ms", () => {
    expect(problems(withRoute('nebula', { timeout: '500us' }))).toEqual([
      'route "nebula": timeout: expected at least Istio\'s minimum of 1ms, got 500us',
    ]);
  });

  it('treats a timeout of 0s as none (Istio rejects a zero duration)', () => {
    const [nebula] = resolveRoutes(withRoute('nebula', { timeout: '0s' }), DEFAULT_CATALOG).filter((route) => route.name === 'nebula');
    expect(nebula?.timeout).toBeUndefined();
  });

  it('fails on an override of a route that does not exist', () => {
    expect(() => configuredRoutes({ overrides: { orion: { timeout: '10s' } } })).toThrow(
      'routes.overrides.orion: expected the name of a route: auth, events-websockets, events, server, nebula, ui (no route is named "orion")',
    );
  });

  it('reads the literal prefix of a regex conservatively', () => {
    expect(regexLiteralPrefix('/api/accounts/[^/]+/x')).toBe('/api/accounts/');
    expect(regexLiteralPrefix('^/api/v1?/x')).toBe('/api/v');
    expect(regexLiteralPrefix('/api/x+y')).toBe('/api/x');
    expect(regexLiteralPrefix('/api\\.v1/.*')).toBe('/api.v1/');
    expect(regexLiteralPrefix('/a|/b')).toBe('');
    expect(regexLiteralPrefix('\\d+/x')).toBe('');
  });
});

describe('the route table from the configuration', () => {
  it('applies overrides by route name', () => {
    const rendered = buildVariant('prod', {
      routes: { overrides: { nebula: { timeout: '120s', retries: { attempts: 1, perTryTimeout: '40s' } } } },
    });
    expect(routeRequest(rendered, 'istio-ingress/prefect', API, '/api/me')).toMatchObject({ kind: 'route', timeout: '120s', retries: 1 });
  });

  it('replaces the whole table', () => {
    const rendered = buildVariant('prod', {
      routes: {
        table: [
          { name: 'api', host: 'api', match: [{ prefix: '/' }], backend: 'nebula' },
          { name: 'ui', host: 'app', match: [{ prefix: '/' }], backend: 'ui' },
        ],
      },
      prefect: { services: { auth: { host: 'internal' }, server: { host: 'internal' }, events: { host: 'internal' } } },
    });
    expect(resolve(rendered, API, '/auth')).toBe('api -> nebula');
    // Only the routed services may be called by the gateway, and get a DestinationRule.
    const gateway = 'cluster.local/ns/istio-ingress/sa/istio-ingressgateway';
    const allowed = rendered.objects
      .filter(({ object }) => object.kind === 'AuthorizationPolicy')
      .filter(({ object }) => ((object.spec as any).rules ?? []).some((rule: any) => rule.from[0].source.principals.includes(gateway)))
      .map(({ object }) => object.metadata.name);
    expect(allowed.sort()).toEqual(['nebula-callers', 'ui-callers']);
    const rules = rendered.objects.filter(({ object }) => object.kind === 'DestinationRule').map(({ object }) => object.metadata.name);
    expect(rules.sort()).toEqual(['nebula', 'ui']);
  });

  it('fails synthesis with a message naming the route', () => {
    expect(() => buildVariant('prod', { routes: { overrides: { ui: { backend: 'nebula' } } } })).toThrow(
      'route "ui": expected a backend on the app host: "nebula" serves the api host (catalog)',
    );
  });

  it('fails synthesis, as a configuration error, when a routed service is switched off', () => {
    expect(() => buildVariant('prod', { prefect: { services: { events: { enabled: false } } } })).toThrow(
      'config/prod.yaml: routes: route "events-websockets": expected a backend that runs: "events" is turned off (prefect.services.events.enabled: false); remove the route (routes.table) or keep the service',
    );
  });
});
