import type { KubernetesObject, RenderedEnvironment } from '../../../lib/output/render';

/*
 * A model of how an Istio ingress gateway picks a route for a request, applied to the
 * generated VirtualServices (not to the route table they came from):
 * - the VirtualServices bound to the Gateway whose hosts contain the request's host (host names
 *   compare case-insensitively, as HTTP defines them);
 * - their `http` routes in order; the first route with a matching condition wins (a route
 *   without conditions matches everything);
 * - `uri` conditions: `prefix` is a plain, case-sensitive string prefix; `exact` compares the
 *   whole path; `regex` is anchored at both ends (RE2; the patterns used here read the same in
 *   JavaScript); all ignore the query string; `ignoreUriCase` lowers both sides; a `method`
 *   condition (exact) must hold too;
 * - a route answers itself with `directResponse` (its status, and the response headers it sets),
 *   redirects with `redirect`, or forwards to its destination;
 * - no matching route: the gateway answers 404.
 */

interface UriMatch {
  readonly prefix?: string;
  readonly exact?: string;
  readonly regex?: string;
}

interface HttpRoute {
  readonly name?: string;
  readonly match?: ReadonlyArray<{
    readonly uri?: UriMatch;
    readonly ignoreUriCase?: boolean;
    readonly method?: { readonly exact?: string };
  }>;
  readonly directResponse?: { readonly status: number; readonly body?: { readonly string?: string } };
  readonly headers?: { readonly response?: { readonly set?: Readonly<Record<string, string>> } };
  readonly route?: ReadonlyArray<{ readonly destination: { readonly host: string; readonly port?: { readonly number: number } } }>;
  readonly redirect?: { readonly scheme?: string; readonly redirectCode?: number };
  readonly timeout?: string;
  readonly retries?: { readonly attempts?: number };
}

export type RoutingDecision =
  | {
      readonly kind: 'route';
      readonly virtualService: string;
      readonly route: string;
      readonly host: string;
      readonly port?: number;
      readonly timeout?: string;
      readonly retries?: number;
    }
  | { readonly kind: 'redirect'; readonly virtualService: string; readonly route: string; readonly scheme?: string; readonly code?: number }
  | {
      readonly kind: 'direct';
      readonly virtualService: string;
      readonly route: string;
      readonly status: number;
      readonly headers: Readonly<Record<string, string>>;
      readonly body?: string;
    }
  | { readonly kind: 'not-found' };

function uriMatches(match: UriMatch, path: string, ignoreCase: boolean): boolean {
  const subject = ignoreCase ? path.toLowerCase() : path;
  const fold = (value: string) => (ignoreCase ? value.toLowerCase() : value);
  if (match.prefix !== undefined) return subject.startsWith(fold(match.prefix));
  if (match.exact !== undefined) return subject === fold(match.exact);
  if (match.regex !== undefined) return new RegExp(`^(?:${match.regex})$`, ignoreCase ? 'i' : '').test(path);
  return true;
}

/** How the gateway `gateway` ("namespace/name") answers a request for `host` and `pathWithQuery`. */
export function routeRequest(
  rendered: RenderedEnvironment,
  gateway: string,
  host: string,
  pathWithQuery: string,
  method = 'GET',
): RoutingDecision {
  const path = pathWithQuery.split('?')[0] as string;
  const virtualServices = rendered.objects
    .map(({ object }) => object)
    .filter(
      (object): object is KubernetesObject & { spec: { hosts: string[]; gateways?: string[]; http?: HttpRoute[] } } =>
        object.kind === 'VirtualService',
    )
    .filter((vs) => {
      const gateways = (vs.spec.gateways ?? []).map((ref) => (ref.includes('/') ? ref : `${vs.metadata.namespace}/${ref}`));
      return gateways.includes(gateway) && vs.spec.hosts.some((candidate) => candidate.toLowerCase() === host.toLowerCase());
    });
  for (const vs of virtualServices) {
    for (const route of vs.spec.http ?? []) {
      const conditions = route.match ?? [];
      const selected =
        conditions.length === 0 ||
        conditions.some(
          (condition) =>
            uriMatches(condition.uri ?? {}, path, condition.ignoreUriCase ?? false) &&
            (condition.method?.exact === undefined || condition.method.exact === method),
        );
      if (!selected) continue;
      if (route.directResponse) {
        return {
          kind: 'direct',
          virtualService: vs.metadata.name,
          route: route.name ?? '',
          status: route.directResponse.status,
          headers: { ...route.headers?.response?.set },
          body: route.directResponse.body?.string,
        };
      }
      if (route.redirect) {
        return {
          kind: 'redirect',
          virtualService: vs.metadata.name,
          route: route.name ?? '',
          scheme: route.redirect.scheme,
          code: route.redirect.redirectCode,
        };
      }
      const destination = route.route?.[0]?.destination;
      if (!destination) throw new Error(`VirtualService ${vs.metadata.name}: route ${route.name} has neither a destination nor a redirect`);
      return {
        kind: 'route',
        virtualService: vs.metadata.name,
        route: route.name ?? '',
        host: destination.host,
        port: destination.port?.number,
        timeout: route.timeout,
        retries: route.retries?.attempts,
      };
    }
  }
  return { kind: 'not-found' };
}
