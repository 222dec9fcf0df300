import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { FLUX_PRUNE_DISABLED } from '../flux/annotations';

/*
 * What the in-cluster data servers (PostgreSQL's StatefulSet, the Redis instances) share: their
 * Services, their container resources, and the single-pod StatefulSet with a retained volume.
 */

export interface ServerServicesProps {
  /** The client Service's name; the headless one is "<name>-headless". */
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly selector: Record<string, string>;
  readonly port: number;
  /** The container port's name, which the Services target. */
  readonly targetPort: string;
  /** The Service port's name: Istio reads the protocol from its prefix ("tcp-"). */
  readonly portName: string;
  /**
   * A headless Service too, the StatefulSet's `serviceName`.
   * @default false
   */
  readonly headless?: boolean;
}

/** A server's ClusterIP Service (what clients connect to) and, for a StatefulSet, its headless Service. */
export class ServerServices extends Construct {
  /** The headless Service's name (for a StatefulSet's `serviceName`). */
  public readonly headlessName: string;

  constructor(scope: Construct, id: string, props: ServerServicesProps) {
    super(scope, id);
    const { name, namespace, labels, selector } = props;
    const ports: k8s.ServicePort[] = [
      {
        name: props.portName,
        port: props.port,
        targetPort: k8s.IntOrString.fromString(props.targetPort),
        protocol: 'TCP',
        appProtocol: 'tcp',
      },
    ];
    this.headlessName = `${name}-headless`;
    new k8s.KubeService(this, 'Service', { metadata: { name, namespace, labels }, spec: { type: 'ClusterIP', selector, ports } });
    if (props.headless) {
      new k8s.KubeService(this, 'HeadlessService', {
        metadata: { name: this.headlessName, namespace, labels },
        spec: { clusterIp: 'None', selector, ports },
      });
    }
  }
}

export interface RetainedStatefulSetProps {
  /** The headless Service. */
  readonly serviceName: string;
  readonly selector: Record<string, string>;
  readonly labels: Record<string, string>;
  readonly template: k8s.PodTemplateSpec;
  /** The volume claimed as "data". */
  readonly storage: { readonly size: string; readonly storageClass?: string };
}

/**
 * The spec of a one-pod StatefulSet whose volume outlives it: neither deleting nor scaling the
 * StatefulSet deletes the claim, and Flux never prunes it.
 */
export function retainedStatefulSetSpec(props: RetainedStatefulSetProps): k8s.StatefulSetSpec {
  return {
    serviceName: props.serviceName,
    replicas: 1,
    revisionHistoryLimit: 5,
    selector: { matchLabels: props.selector },
    // Parallel, not OrderedReady: with one pod the order is moot, and OrderedReady waits for a
    // crash-looping pod to become ready before replacing it, so a fix in Git would not heal a
    // bad change (Kubernetes "Forced rollback", kubernetes#67250). The update still deletes the
    // old pod before it creates the new one. Immutable: the same as the loop services.
    podManagementPolicy: 'Parallel',
    updateStrategy: { type: 'RollingUpdate' },
    persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
    template: props.template,
    volumeClaimTemplates: [
      {
        metadata: { name: 'data', labels: props.labels, annotations: { ...FLUX_PRUNE_DISABLED } },
        spec: {
          accessModes: ['ReadWriteOnce'],
          ...(props.storage.storageClass ? { storageClassName: props.storage.storageClass } : {}),
          resources: { requests: { storage: k8s.Quantity.fromString(props.storage.size) } },
        },
      },
    ],
  };
}
