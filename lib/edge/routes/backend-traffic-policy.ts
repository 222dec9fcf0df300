import { Construct } from 'constructs';
import {
  DestinationRule,
  DestinationRuleSpecTrafficPolicyConnectionPoolHttpH2UpgradePolicy,
  DestinationRuleSpecTrafficPolicyTlsMode,
} from '../../../imports/istio-networking.istio.io';
import { serviceHost } from './host-routes';

export interface BackendTrafficPolicyProps {
  /** The backend Service's name; the DestinationRule has the same name. */
  readonly service: string;
  /** The backend's namespace (the DestinationRule lives there and applies to every client). */
  readonly namespace: string;
  /**
   * The backend holds long-lived websocket connections: a much higher connection limit, and
   * never an upgrade to HTTP/2 (which would break the websocket handshake).
   * @default false
   */
  readonly websockets?: boolean;
  readonly labels: Record<string, string>;
}

/** Concurrent connections and requests per client proxy and backend, before requests are shed. */
export const CONNECTION_LIMITS = { requests: 2048, websocketConnections: 16384 } as const;

/**
 * How every client of the mesh talks to one backend: Istio mutual TLS, bounded connection pools
 * (an overloaded backend sheds requests with 503 rather than queueing without end), and outlier
 * detection that takes a pod out of rotation after repeated gateway errors (502, 503, 504:
 * unreachable or overloaded), never for application 500s.
 */
export class BackendTrafficPolicy extends Construct {
  public readonly resource: DestinationRule;

  constructor(scope: Construct, id: string, props: BackendTrafficPolicyProps) {
    super(scope, id);
    const websockets = props.websockets ?? false;
    this.resource = new DestinationRule(this, 'Resource', {
      metadata: { name: props.service, namespace: props.namespace, labels: props.labels },
      spec: {
        host: serviceHost(props.service, props.namespace),
        trafficPolicy: {
          tls: { mode: DestinationRuleSpecTrafficPolicyTlsMode.ISTIO_UNDERSCORE_MUTUAL },
          connectionPool: {
            tcp: { maxConnections: websockets ? CONNECTION_LIMITS.websocketConnections : CONNECTION_LIMITS.requests, connectTimeout: '5s' },
            http: {
              http1MaxPendingRequests: CONNECTION_LIMITS.requests,
              http2MaxRequests: websockets ? CONNECTION_LIMITS.websocketConnections : CONNECTION_LIMITS.requests,
              ...(websockets
                ? {
                    h2UpgradePolicy: DestinationRuleSpecTrafficPolicyConnectionPoolHttpH2UpgradePolicy.DO_UNDERSCORE_NOT_UNDERSCORE_UPGRADE,
                  }
                : {}),
            },
          },
          outlierDetection: {
            consecutiveGatewayErrors: 5,
            // 0 switches off ejection for any 5xx (Istio's default is 5): a bug that answers
            // some requests with 500 must not empty the endpoint list.
            consecutive5XxErrors: 0,
            interval: '10s',
            baseEjectionTime: '30s',
            maxEjectionPercent: 50,
          },
        },
      },
    });
  }
}
