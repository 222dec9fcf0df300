import { Construct } from 'constructs';
import { ServiceEntry, ServiceEntrySpecLocation, ServiceEntrySpecResolution } from '../../imports/istio-networking.istio.io';
import { lazyList } from '../core/lazy-list';

export interface ExternalServiceEntryProps {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  /** The managed service's DNS name. */
  readonly host: string;
  readonly port: number;
  /** Istio reads the protocol from the port name's prefix, e.g. "tcp-postgres". */
  readonly portName: string;
}

/**
 * Registers a managed service outside the cluster with the mesh, so that sidecars route to it
 * even when the mesh only allows registered destinations (outboundTrafficPolicy REGISTRY_ONLY).
 * Plain TCP: the client speaks TLS to the server itself when it is configured to. Visible only
 * in the namespaces of the clients that relation methods added (and its own).
 */
export class ExternalServiceEntry extends Construct {
  public readonly resource: ServiceEntry;
  private readonly namespaces = new Set<string>();

  constructor(scope: Construct, id: string, props: ExternalServiceEntryProps) {
    super(scope, id);
    this.resource = new ServiceEntry(this, 'Resource', {
      metadata: { name: props.name, namespace: props.namespace, labels: props.labels },
      spec: {
        hosts: [props.host],
        location: ServiceEntrySpecLocation.MESH_UNDERSCORE_EXTERNAL,
        resolution: ServiceEntrySpecResolution.DNS,
        ports: [{ number: props.port, name: props.portName, protocol: 'TCP' }],
        exportTo: lazyList(() => ['.', ...[...this.namespaces].filter((namespace) => namespace !== props.namespace).sort()]),
      },
    });
  }

  /** Makes the entry visible to sidecars of `namespace`. */
  public exportTo(namespace: string): void {
    this.namespaces.add(namespace);
  }
}
