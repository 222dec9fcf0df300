import { Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import type { ServiceDefinition } from './catalog';
import { toEnvVars, type DataClient, type EgressRule, type EnvValue } from './data-client';
import { WorkloadNetworkPolicy } from './workload-network-policy';
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from './pod-security';
import { sidecarAnnotations } from './sidecar';

/** ASSUMPTION: the customer-managed images run as a non-root user; this uid/gid is enforced. */
export const PREFECT_USER = { uid: 10001, gid: 10001 } as const;

/** Ingress that a service's NetworkPolicy admits. */
export interface IngressRule {
  readonly purpose: string;
  readonly namespace: string;
  /** Omit to admit every pod of the namespace. */
  readonly podSelector?: Record<string, string>;
  readonly port: number;
}

export interface PrefectServiceProps {
  readonly definition: ServiceDefinition;
  readonly namespace: string;
  /** The full image reference, e.g. "registry.example.com/prefect/cloud/server:2026.11.1". */
  readonly image: string;
  /** @default - no pull secret */
  readonly imagePullSecret?: string;
  /** The recommended labels of the service's objects and pods. */
  readonly labels: Record<string, string>;
  /** The labels that select the service's pods (a stable subset of `labels`). */
  readonly selectorLabels: Record<string, string>;
  /** Replicas at the HPA minimum (loop services: always 1). */
  readonly replicas: number;
  readonly maxReplicas: number;
  /** Where istiod runs (the sidecar's egress). */
  readonly istioNamespace: string;
  /**
   * A CA bundle (ConfigMap and key) that the service must trust for the public API URL: with a
   * private CA, the Prefect client reads PREFECT_API_SSL_CERT_FILE, not the system store.
   * @default - the image's bundle
   */
  readonly trustBundle?: { readonly configMapName: string; readonly key: string };
  /**
   * Policy exemptions (lib/policy) of the Deployment and the HPA: annotations, each with its reason.
   * @default - none
   */
  readonly exemptions?: { readonly deployment?: Record<string, string>; readonly autoscaler?: Record<string, string> };
  /**
   * Spread pods over these zones as well as over nodes.
   * @default false
   */
  readonly spreadOverZones?: boolean;
}

/** Seconds a pod keeps serving after it is taken out of the Service's endpoints. */
const DRAIN_SECONDS = 15;
const TERMINATION_GRACE_SECONDS = 60;
const CA_BUNDLE_DIR = '/etc/prefect-ca';

/**
 * One Prefect service: its ServiceAccount, Deployment, and by type a Service, an HPA and a PDB
 * (web), an HPA and a PDB (background, consumer) or a singleton (loop), plus its own
 * NetworkPolicy, opened only by relations (`allowIngress`, and `addEgress` through the data
 * servers' relation methods).
 */
export class PrefectService extends Construct implements DataClient {
  public readonly name: string;
  public readonly namespace: string;
  public readonly definition: ServiceDefinition;
  public readonly selectorLabels: Record<string, string>;
  public readonly serviceAccountName: string;
  public readonly deployment: k8s.KubeDeployment;
  public readonly service?: k8s.KubeService;
  public readonly autoscaler?: k8s.KubeHorizontalPodAutoscalerV2;
  public readonly disruptionBudget?: k8s.KubePodDisruptionBudget;
  public readonly networkPolicy: WorkloadNetworkPolicy;

  private readonly env = new Map<string, EnvValue>();
  private readonly egress: EgressRule[] = [];

  constructor(scope: Construct, id: string, props: PrefectServiceProps) {
    super(scope, id);
    const { definition } = props;
    if (definition.type === 'web' && (definition.port === undefined || definition.health === undefined)) {
      throw new Error(`service ${definition.name}: a web service needs a port and health paths`);
    }
    if (definition.type !== 'web' && definition.port !== undefined) {
      throw new Error(`service ${definition.name}: only web services listen on a port (type is ${definition.type})`);
    }
    if (props.maxReplicas < props.replicas) {
      throw new Error(`service ${definition.name}: maxReplicas (${props.maxReplicas}) is below replicas (${props.replicas})`);
    }
    this.name = definition.name;
    this.namespace = props.namespace;
    this.definition = definition;
    this.selectorLabels = props.selectorLabels;
    this.serviceAccountName = definition.name;
    const singleton = definition.type === 'loop';
    const metadata = { name: definition.name, namespace: props.namespace, labels: props.labels };

    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata, automountServiceAccountToken: false });

    const port = definition.port;
    const probe = (path: string, periodSeconds: number, failureThreshold: number): k8s.Probe => ({
      httpGet: { path, port: k8s.IntOrString.fromString('http') },
      periodSeconds,
      failureThreshold,
      timeoutSeconds: 3,
    });

    this.deployment = new k8s.KubeDeployment(this, 'Deployment', {
      metadata: withAnnotations(metadata, props.exemptions?.deployment),
      spec: {
        // Loop services: exactly one, and never two at once (Recreate stops the old pod first).
        // Scalable services: the HPA owns the count; this is only the starting point.
        replicas: singleton ? 1 : props.replicas,
        revisionHistoryLimit: 5,
        selector: { matchLabels: props.selectorLabels },
        strategy: singleton
          ? { type: 'Recreate' }
          : { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(0), maxSurge: k8s.IntOrString.fromString('25%') } },
        template: {
          metadata: { labels: props.labels, annotations: sidecarAnnotations(DRAIN_SECONDS) },
          spec: {
            serviceAccountName: this.serviceAccountName,
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: restrictedPodSecurityContext(PREFECT_USER),
            terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
            ...(props.imagePullSecret ? { imagePullSecrets: [{ name: props.imagePullSecret }] } : {}),
            // Prefer one pod per node (kube-linter no-anti-affinity); the spread constraints
            // below also balance zones. Preferred, not required: a small pool still schedules.
            ...(singleton
              ? {}
              : {
                  affinity: {
                    podAntiAffinity: {
                      preferredDuringSchedulingIgnoredDuringExecution: [
                        { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: props.selectorLabels } } },
                      ],
                    },
                  },
                }),
            topologySpreadConstraints: [
              ...(props.spreadOverZones ? [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: props.selectorLabels } }] : []),
              { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: props.selectorLabels } },
            ],
            containers: [
              {
                name: definition.name,
                image: props.image,
                imagePullPolicy: 'IfNotPresent',
                ...(definition.command.length > 0 ? { command: [...definition.command] } : {}),
                ...(definition.args.length > 0 ? { args: [...definition.args] } : {}),
                env: Lazy.any({ produce: () => toEnvVars(this.env) }),
                ...(port !== undefined ? { ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }] } : {}),
                resources: {
                  requests: {
                    cpu: k8s.Quantity.fromString(definition.resources.requests.cpu),
                    memory: k8s.Quantity.fromString(definition.resources.requests.memory),
                  },
                  ...(definition.resources.limits
                    ? {
                        limits: {
                          ...(definition.resources.limits.cpu ? { cpu: k8s.Quantity.fromString(definition.resources.limits.cpu) } : {}),
                          memory: k8s.Quantity.fromString(definition.resources.limits.memory),
                        },
                      }
                    : {}),
                },
                ...(definition.health
                  ? {
                      // Startup allows a slow first start (migrations already ran in their layer).
                      startupProbe: probe(definition.health.liveness, 5, 60),
                      livenessProbe: probe(definition.health.liveness, 10, 3),
                      readinessProbe: probe(definition.health.readiness, 5, 3),
                    }
                  : {}),
                // The pod leaves the Service's endpoints first; keep serving until the gateway
                // and kube-proxy have caught up, then stop.
                lifecycle: { preStop: { exec: { command: ['sleep', String(DRAIN_SECONDS)] } } },
                securityContext: restrictedContainerSecurityContext(PREFECT_USER),
                volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, ...(props.trustBundle ? [{ name: 'ca-bundle', mountPath: CA_BUNDLE_DIR, readOnly: true }] : [])],
              },
            ],
            volumes: [
              { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } },
              ...(props.trustBundle ? [{ name: 'ca-bundle', configMap: { name: props.trustBundle.configMapName, items: [{ key: props.trustBundle.key, path: 'ca.crt' }] } }] : []),
            ],
          },
        },
      },
    });

    if (port !== undefined) {
      this.service = new k8s.KubeService(this, 'Service', {
        metadata,
        spec: {
          type: 'ClusterIP',
          selector: props.selectorLabels,
          // Istio picks the protocol from the port name and appProtocol.
          ports: [{ name: `http-${definition.name}`, port, targetPort: k8s.IntOrString.fromString('http'), protocol: 'TCP', appProtocol: 'http' }],
        },
      });
    }

    if (!singleton) {
      this.autoscaler = new k8s.KubeHorizontalPodAutoscalerV2(this, 'Autoscaler', {
        metadata: withAnnotations(metadata, props.exemptions?.autoscaler),
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: definition.name },
          minReplicas: props.replicas,
          maxReplicas: props.maxReplicas,
          metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
          behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
        },
      });
      this.disruptionBudget = new k8s.KubePodDisruptionBudget(this, 'DisruptionBudget', {
        metadata,
        spec: {
          maxUnavailable: k8s.IntOrString.fromNumber(1),
          selector: { matchLabels: props.selectorLabels },
          // A crash-looping pod must never block a node drain.
          unhealthyPodEvictionPolicy: 'AlwaysAllow',
        },
      });
    }

    if (props.trustBundle) {
      this.addEnv('PREFECT_API_SSL_CERT_FILE', { value: `${CA_BUNDLE_DIR}/ca.crt` });
      this.addEnv('SSL_CERT_FILE', { value: `${CA_BUNDLE_DIR}/ca.crt` });
    }
    this.networkPolicy = new WorkloadNetworkPolicy(this, 'NetworkPolicy', {
      name: definition.name,
      namespace: props.namespace,
      labels: props.labels,
      podSelector: props.selectorLabels,
      istioNamespace: props.istioNamespace,
    });
  }

  public addEnv(name: string, value: EnvValue): void {
    if (this.env.has(name)) {
      throw new Error(`service ${this.name}: environment variable ${name} is set twice; each relation must use its own names`);
    }
    this.env.set(name, value);
  }

  public addEgress(rule: EgressRule): void {
    this.egress.push(rule);
    this.networkPolicy.allowEgress(rule);
  }

  /** Admits traffic to the service's port from `rule`'s pods. */
  public allowIngress(rule: IngressRule): void {
    this.networkPolicy.allowIngress({ namespace: rule.namespace, ...(rule.podSelector ? { podSelector: rule.podSelector } : {}) }, [rule.port]);
  }

  /** The environment, in the order it was added (so `$(VAR)` references resolve). */
  public get environment(): ReadonlyMap<string, EnvValue> {
    return this.env;
  }

  public get egressRules(): readonly EgressRule[] {
    return this.egress;
  }
}

function withAnnotations<T extends object>(metadata: T, annotations: Record<string, string> | undefined): T & { annotations?: Record<string, string> } {
  return annotations && Object.keys(annotations).length > 0 ? { ...metadata, annotations } : metadata;
}
