import { Construct } from 'constructs';
import { VirtualService, type VirtualServiceSpecHttp } from '../../../imports/istio-networking.istio.io';
import type { ResolvedRoute } from './routes';

export interface HostRoutesProps {
  /** The VirtualService's name, e.g. "prefect-api". */
  readonly name: string;
  /** The gateway's namespace: the VirtualService is visible there only. */
  readonly namespace: string;
  readonly hostname: string;
  /** `namespace/name` of the Gateway. */
  readonly gateway: string;
  /** This host's routes, in table order (the first match wins). */
  readonly routes: readonly ResolvedRoute[];
  /** Where the backends' Services are. */
  readonly backendNamespace: string;
  /**
   * The scheme clients used, set as X-Forwarded-Proto on every request: for a gateway behind a
   * load balancer that ended TLS, whose plain connection would make Envoy say "http".
   * @default - Envoy's own (the scheme of the connection, or a trusted proxy's header)
   */
  readonly forwardedProto?: 'https';
  /**
   * Maintenance mode: the routes give way to the documented answers (MAINTENANCE_HEALTH_CHECK).
   * @default - the routes serve
   */
  readonly maintenance?: { readonly retryAfterSeconds: number };
  readonly labels: Record<string, string>;
}

/**
 * faq, "What happens while the API is in maintenance mode?": a 200 on GET
 * /load-balancer/health-check, and a 503 with a Retry-After header (and a JSON content type) on
 * any other request.
 */
export const MAINTENANCE_HEALTH_CHECK = '/load-balancer/health-check';

/** The maintenance answers, in place of a host's routes. */
export function maintenanceRoutes(retryAfterSeconds: number): VirtualServiceSpecHttp[] {
  const json = { 'content-type': 'application/json' };
  return [
    {
      name: 'maintenance-health-check',
      match: [{ uri: { exact: MAINTENANCE_HEALTH_CHECK }, method: { exact: 'GET' } }],
      directResponse: { status: 200, body: { string: '{"status":"maintenance"}' } },
      headers: { response: { set: json } },
    },
    {
      name: 'maintenance',
      directResponse: {
        status: 503,
        body: { string: `{"detail":"Prefect is under maintenance; retry in ${retryAfterSeconds} seconds"}` },
      },
      headers: { response: { set: { ...json, 'retry-after': String(retryAfterSeconds) } } },
    },
  ];
}

/** The in-cluster address of a catalog service. */
export function serviceHost(service: string, namespace: string): string {
  return `${service}.${namespace}.svc.cluster.local`;
}

/**
 * One VirtualService for one public hostname: the route table's entries for that host, in
 * order, each to a backend Service on its catalog port, with its timeout and retry policy.
 * Requests that match no route get a 404 from the gateway.
 */
export class HostRoutes extends Construct {
  public readonly resource: VirtualService;

  constructor(scope: Construct, id: string, props: HostRoutesProps) {
    super(scope, id);
    if (props.routes.length === 0) throw new Error(`VirtualService ${props.name}: no route for ${props.hostname}`);
    const routes: VirtualServiceSpecHttp[] = props.routes.map((route) => ({
      name: route.name,
      match: route.match.map((match) => ({ uri: { ...match } })),
      route: [{ destination: { host: serviceHost(route.backend.name, props.backendNamespace), port: { number: route.port } } }],
      // No timeout field means none (Istio's default): websockets stay open.
      ...(route.timeout !== undefined ? { timeout: route.timeout } : {}),
      retries: { ...route.retries },
      ...(props.forwardedProto ? { headers: { request: { set: { 'x-forwarded-proto': props.forwardedProto } } } } : {}),
    }));
    const http = props.maintenance ? maintenanceRoutes(props.maintenance.retryAfterSeconds) : routes;
    this.resource = new VirtualService(this, 'Resource', {
      metadata: { name: props.name, namespace: props.namespace, labels: props.labels },
      spec: {
        hosts: [props.hostname],
        gateways: [props.gateway],
        // Gateway routes only: sidecars elsewhere never see them.
        exportTo: ['.'],
        http,
      },
    });
  }
}
