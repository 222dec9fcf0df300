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
  readonly labels: Record<string, string>;
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
    const http: VirtualServiceSpecHttp[] = props.routes.map((route) => ({
      name: route.name,
      match: route.match.map((match) => ({ uri: { ...match } })),
      route: [{ destination: { host: serviceHost(route.backend.name, props.backendNamespace), port: { number: route.port } } }],
      // No timeout field means none (Istio's default): websockets stay open.
      ...(route.timeout !== undefined ? { timeout: route.timeout } : {}),
      retries: { ...route.retries },
      ...(props.forwardedProto ? { headers: { request: { set: { 'x-forwarded-proto': props.forwardedProto } } } } : {}),
    }));
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
