import { Construct } from 'constructs';
import { ScaledObject, TriggerAuthentication } from '../../imports/keda-keda.sh';
import type { StreamConsumer } from '../catalog/services';

/*
 * autoscaling.backlog: a service that names the Redis streams it reads scales on the lag of its
 * consumer groups (entries not yet delivered to the group), through KEDA's redis-streams scaler,
 * and on CPU; a KEDA ScaledObject takes the place of its HorizontalPodAutoscaler. KEDA's operator
 * reads the lag itself: it logs in with the instance's application password (a
 * TriggerAuthentication over the Secret the service reads too) and is admitted by the instance's
 * NetworkPolicy and AuthorizationPolicy as a client of its own (lib/platform/keda-operator.ts).
 */

/** The CPU utilization both kinds of autoscaler aim at. */
export const CPU_TARGET_UTILIZATION = 70;
/** How both scale down: on the highest recommendation of the last five minutes. */
export const SCALE_DOWN_BEHAVIOR = { scaleDown: { stabilizationWindowSeconds: 300 } } as const;
/** KEDA takes over the HorizontalPodAutoscaler of the same name that the service had (an upgrade). */
export const TRANSFER_HPA_OWNERSHIP = { 'scaledobject.keda.sh/transfer-hpa-ownership': 'true' } as const;

export interface RedisStreamsConnection {
  /** host:port of the instance. */
  readonly address: string;
  readonly tls: boolean;
  /** The TriggerAuthentication with its password, in the service's namespace. */
  readonly authentication: string;
}

export interface BacklogScalerProps {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly annotations?: Record<string, string>;
  readonly target: { readonly kind: 'Deployment' | 'StatefulSet'; readonly name: string };
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly consumers: readonly StreamConsumer[];
  readonly redis: RedisStreamsConnection;
  /** Entries waiting per replica: KEDA's lagCount. */
  readonly lagPerReplica: number;
}

/** The ScaledObject of one service: a trigger per consumer group, and CPU. */
export class BacklogScaler extends Construct {
  public readonly resource: ScaledObject;

  constructor(scope: Construct, id: string, props: BacklogScalerProps) {
    super(scope, id);
    const { redis } = props;
    this.resource = new ScaledObject(this, 'Resource', {
      metadata: {
        name: props.name,
        namespace: props.namespace,
        labels: props.labels,
        annotations: { ...props.annotations, ...TRANSFER_HPA_OWNERSHIP },
      },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: props.target.kind, name: props.target.name },
        minReplicaCount: props.minReplicas,
        maxReplicaCount: props.maxReplicas,
        pollingInterval: 15,
        cooldownPeriod: 300,
        advanced: {
          horizontalPodAutoscalerConfig: {
            // The HorizontalPodAutoscaler's name as it was: KEDA takes that one over.
            name: props.name,
            behavior: SCALE_DOWN_BEHAVIOR,
          },
        },
        triggers: [
          ...props.consumers.map((consumer) => ({
            type: 'redis-streams',
            name: `lag-${consumer.stream}-${consumer.group}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-'),
            metadata: {
              address: redis.address,
              stream: consumer.stream,
              consumerGroup: consumer.group,
              lagCount: String(props.lagPerReplica),
              ...(redis.tls ? { enableTLS: 'true' } : {}),
            },
            authenticationRef: { name: redis.authentication },
          })),
          { type: 'cpu', metricType: 'Utilization', metadata: { value: String(CPU_TARGET_UTILIZATION) } },
        ],
      },
    });
  }
}

export interface RedisTriggerAuthenticationProps {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  /** The instance's Secret in this namespace, and its key with the application password. */
  readonly secret: { readonly name: string; readonly key: string };
}

/** The application password of a Redis instance, for KEDA's scalers in one namespace. */
export class RedisTriggerAuthentication extends Construct {
  constructor(scope: Construct, id: string, props: RedisTriggerAuthenticationProps) {
    super(scope, id);
    new TriggerAuthentication(this, 'Resource', {
      metadata: { name: props.name, namespace: props.namespace, labels: props.labels },
      spec: { secretTargetRef: [{ parameter: 'password', name: props.secret.name, key: props.secret.key }] },
    });
  }
}
