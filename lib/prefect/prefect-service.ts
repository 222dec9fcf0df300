import { BacklogScaler, type BacklogScalerProps, CPU_TARGET_UTILIZATION, SCALE_DOWN_BEHAVIOR } from './backlog-scaling';
import type { Mesh } from '../mesh/identity';
import { Lazy } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import type { ServiceDefinition } from '../catalog/services';
import {
  addMount,
  toEnvVars,
  toSecretVolumes,
  type DataClient,
  type EgressRule,
  type EnvValue,
  type SecretFileMount,
} from '../core/data-client';
import { principalOf } from '../mesh/identity';
import { LABEL, withVersion } from '../core/labels';
import { WorkloadNetworkPolicy } from '../mesh/workload-network-policy';
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from '../core/pod-security';
import { sidecarAnnotations, prometheusScrapeAnnotations } from '../mesh/sidecar';
import { toResourceRequirements } from '../core/resources';
import { PrincipalAllowPolicy } from '../mesh/principal-allow-policy';

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
  readonly imagePullSecrets?: ReadonlyArray<{ readonly name: string }>;
  /**
   * Pod-template annotations that restart the pods when they change (the Secrets' revision).
   * @default - none
   */
  readonly podAnnotations?: Record<string, string>;
  /**
   * The PriorityClass of the pods.
   * @default - the cluster's default priority
   */
  readonly priorityClassName?: string;
  /** The stable recommended labels of the service's objects and pods (the workload adds `version`). */
  readonly labels: Record<string, string>;
  /** The Prefect release the image runs: the workload's version label. */
  readonly version: string;
  /** The labels that select the service's pods (a stable subset of `labels`). */
  readonly selectorLabels: Record<string, string>;
  /** The HPA's minimum (loop services: always 1, and no HPA). */
  readonly replicas: number;
  readonly maxReplicas: number;
  /** The mesh: istiod's namespace (sidecars fetch configuration and certificates there), trust domain, cluster DNS. */
  readonly mesh: Mesh;
  /**
   * A CA bundle (ConfigMap and key) that the service must trust for the public API URL: with a
   * private CA, the Prefect client reads PREFECT_API_SSL_CERT_FILE, not the system store.
   * @default - the image's bundle
   */
  readonly trustBundle?: { readonly configMapName: string; readonly key: string };
  /**
   * Policy exemptions (lib/policy) of the workload (Deployment or StatefulSet) and the HPA:
   * annotations, each with its reason.
   * @default - none
   */
  readonly exemptions?: { readonly workload?: Record<string, string>; readonly autoscaler?: Record<string, string> };
  /**
   * Announce the metrics to Prometheus (pod annotations): off where reading them needs credentials.
   * @default true
   */
  readonly scrapeMetrics?: boolean;
  /**
   * Scale on the lag of these consumer groups and on CPU (a KEDA ScaledObject), instead of a
   * CPU HorizontalPodAutoscaler (autoscaling.backlog).
   * @default - a CPU HorizontalPodAutoscaler
   */
  readonly backlog?: Pick<BacklogScalerProps, 'consumers' | 'redis' | 'lagPerReplica'>;
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
 * The root filesystem is read-only and /tmp is the pod's writable emptyDir: anything that writes
 * under the home directory (Prefect's PREFECT_HOME, ~/.cache of Python libraries) writes there.
 * A service's own `env` in the catalog or configuration overrides these.
 */
const WRITABLE_HOME: ReadonlyMap<string, EnvValue> = new Map([
  ['HOME', { value: '/tmp' }],
  ['PREFECT_HOME', { value: '/tmp/prefect' }],
]);

/**
 * One Prefect service: its ServiceAccount and workload, and by type a Service, an HPA and a PDB
 * (web), an HPA and a PDB (background, consumer), or a singleton StatefulSet behind a headless
 * Service (loop); plus its own NetworkPolicy and (web) the AuthorizationPolicy of in-mesh
 * callers, opened only by relations: `allowFrom(client)`, `allowIngress`, and `addEgress`
 * through the data servers' relation methods. Egress outside the cluster is the catalog's
 * `egress`.
 */
export class PrefectService extends Construct implements DataClient {
  public readonly name: string;
  public readonly namespace: string;
  public readonly definition: ServiceDefinition;
  public readonly selectorLabels: Record<string, string>;
  public readonly serviceAccountName: string;
  /**
   * A Deployment, or for a loop service a StatefulSet of one replica: a StatefulSet never starts
   * a pod while the previous one of the same ordinal still exists (terminating after an eviction,
   * or on a lost node), which a Deployment does even with the Recreate strategy.
   */
  public readonly workload: k8s.KubeDeployment | k8s.KubeStatefulSet;
  public readonly workloadKind: 'Deployment' | 'StatefulSet';
  public readonly service?: k8s.KubeService;
  /** Loop services: the headless Service that a StatefulSet names as its `serviceName`. */
  public readonly headlessService?: k8s.KubeService;
  /** The HorizontalPodAutoscaler, or with `backlog` the ScaledObject whose HPA KEDA keeps. */
  public readonly autoscaler?: k8s.KubeHorizontalPodAutoscalerV2 | BacklogScaler;
  public readonly disruptionBudget?: k8s.KubePodDisruptionBudget;
  public readonly networkPolicy: WorkloadNetworkPolicy;
  /** Web services: who inside the mesh may call the port (`<name>-callers`: the services, and the ingress gateway when routed). */
  public readonly callerPolicy?: PrincipalAllowPolicy;

  private readonly env = new Map<string, EnvValue>();
  private readonly mounts = new Map<string, SecretFileMount>();
  private readonly trustDomain: string;

  constructor(scope: Construct, id: string, props: PrefectServiceProps) {
    super(scope, id);
    const { definition } = props;
    this.trustDomain = props.mesh.trustDomain;
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
    const workloadMetadata = { ...metadata, labels: withVersion(props.labels, props.version) };

    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata, automountServiceAccountToken: false });

    const port = definition.port;
    // A metrics port apart from the service's port gets a container and Service port of its own.
    const metricsPort = definition.metrics?.port !== undefined && definition.metrics.port !== port ? definition.metrics.port : undefined;
    if (metricsPort !== undefined && port === undefined) {
      throw new Error(`service ${definition.name}: metrics on a port of their own are for web services`);
    }
    const probe = (path: string, periodSeconds: number, failureThreshold: number): k8s.Probe => ({
      httpGet: { path, port: k8s.IntOrString.fromString('http') },
      periodSeconds,
      failureThreshold,
      timeoutSeconds: 3,
    });

    const template: k8s.PodTemplateSpec = {
      metadata: {
        labels: props.labels,
        annotations: {
          ...sidecarAnnotations(DRAIN_SECONDS),
          ...(props.scrapeMetrics === false ? {} : prometheusAnnotations(definition)),
          ...props.podAnnotations,
        },
      },
      spec: {
        serviceAccountName: this.serviceAccountName,
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        securityContext: restrictedPodSecurityContext(PREFECT_USER),
        terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
        ...(props.priorityClassName ? { priorityClassName: props.priorityClassName } : {}),
        ...(props.imagePullSecrets && props.imagePullSecrets.length > 0
          ? { imagePullSecrets: props.imagePullSecrets.map((secret) => ({ name: secret.name })) }
          : {}),
        // Prefer one pod per node (kube-linter no-anti-affinity); the spread constraints
        // below also balance zones. Preferred, not required: a small pool still schedules.
        ...(singleton
          ? {}
          : {
              affinity: {
                podAntiAffinity: {
                  preferredDuringSchedulingIgnoredDuringExecution: [
                    {
                      weight: 100,
                      podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: props.selectorLabels } },
                    },
                  ],
                },
              },
            }),
        topologySpreadConstraints: [
          ...(props.spreadOverZones
            ? [
                {
                  maxSkew: 1,
                  topologyKey: 'topology.kubernetes.io/zone',
                  whenUnsatisfiable: 'ScheduleAnyway',
                  labelSelector: { matchLabels: props.selectorLabels },
                },
              ]
            : []),
          {
            maxSkew: 1,
            topologyKey: 'kubernetes.io/hostname',
            whenUnsatisfiable: 'ScheduleAnyway',
            labelSelector: { matchLabels: props.selectorLabels },
          },
        ],
        containers: [
          {
            name: definition.name,
            image: props.image,
            imagePullPolicy: 'IfNotPresent',
            ...(definition.command.length > 0 ? { command: [...definition.command] } : {}),
            ...(definition.args.length > 0 ? { args: [...definition.args] } : {}),
            env: Lazy.any({ produce: () => toEnvVars(this.environment) }),
            ...(port !== undefined
              ? {
                  ports: [
                    { name: 'http', containerPort: port, protocol: 'TCP' },
                    ...(metricsPort !== undefined ? [{ name: 'metrics', containerPort: metricsPort, protocol: 'TCP' }] : []),
                  ],
                }
              : {}),
            resources: toResourceRequirements(definition.resources),
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
            // The relations' files (a database server's CA) are added until synthesis.
            volumeMounts: Lazy.any({
              produce: () => [
                { name: 'tmp', mountPath: '/tmp' },
                ...(props.trustBundle ? [{ name: 'ca-bundle', mountPath: CA_BUNDLE_DIR, readOnly: true }] : []),
                ...toSecretVolumes(this.mounts).volumeMounts,
              ],
            }),
          },
        ],
        volumes: Lazy.any({
          produce: () => [
            { name: 'tmp', emptyDir: { sizeLimit: '256Mi' } },
            ...(props.trustBundle
              ? [
                  {
                    name: 'ca-bundle',
                    configMap: { name: props.trustBundle.configMapName, items: [{ key: props.trustBundle.key, path: 'ca.crt' }] },
                  },
                ]
              : []),
            ...toSecretVolumes(this.mounts).volumes,
          ],
        }),
      },
    };

    if (singleton) {
      // A StatefulSet needs a governing Service; a headless one without ports only gives the pod
      // its identity (nobody connects to a loop service).
      this.headlessService = new k8s.KubeService(this, 'HeadlessService', {
        metadata: { ...metadata, name: `${definition.name}-headless` },
        spec: { clusterIp: 'None', selector: props.selectorLabels },
      });
      this.workloadKind = 'StatefulSet';
      this.workload = new k8s.KubeStatefulSet(this, 'StatefulSet', {
        metadata: withAnnotations(workloadMetadata, props.exemptions?.workload),
        spec: {
          // Exactly one, and at most one: the replacement of pod 0 is created only once the old
          // pod 0 is gone from the API (terminated, or deleted with its lost node).
          replicas: 1,
          serviceName: this.headlessService.name,
          // Parallel, not OrderedReady: with one pod the order is moot, and OrderedReady waits
          // for a crash-looping pod to become ready before replacing it, so reverting a bad
          // release in Git would not heal it (Kubernetes "Forced rollback"). Immutable: choose
          // once. The update still deletes the old pod before it creates the new one.
          podManagementPolicy: 'Parallel',
          updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
          revisionHistoryLimit: 5,
          selector: { matchLabels: props.selectorLabels },
          template,
        },
      });
    } else {
      this.workloadKind = 'Deployment';
      this.workload = new k8s.KubeDeployment(this, 'Deployment', {
        metadata: withAnnotations(workloadMetadata, props.exemptions?.workload),
        spec: {
          // No `replicas`: the HPA owns the count. Flux re-applies what the manifest says on every
          // reconcile, so a replica count here would scale the Deployment back to it each time
          // (Kubernetes and Flux: leave spec.replicas out of autoscaled workloads). A new
          // Deployment starts at 1 and the HPA raises it to its minimum.
          revisionHistoryLimit: 5,
          selector: { matchLabels: props.selectorLabels },
          strategy: {
            type: 'RollingUpdate',
            rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(0), maxSurge: k8s.IntOrString.fromString('25%') },
          },
          template,
        },
      });
    }

    if (port !== undefined) {
      this.service = new k8s.KubeService(this, 'Service', {
        metadata,
        spec: {
          type: 'ClusterIP',
          selector: props.selectorLabels,
          // Istio picks the protocol from the port name and appProtocol.
          ports: [
            { name: `http-${definition.name}`, port, targetPort: k8s.IntOrString.fromString('http'), protocol: 'TCP', appProtocol: 'http' },
            ...(metricsPort !== undefined
              ? [
                  {
                    name: 'http-metrics',
                    port: metricsPort,
                    targetPort: k8s.IntOrString.fromString('metrics'),
                    protocol: 'TCP',
                    appProtocol: 'http',
                  },
                ]
              : []),
          ],
        },
      });
    }

    if (!singleton) {
      this.autoscaler = props.backlog
        ? new BacklogScaler(this, 'Autoscaler', {
            ...props.backlog,
            name: definition.name,
            namespace: props.namespace,
            labels: metadata.labels,
            ...(props.exemptions?.autoscaler ? { annotations: props.exemptions.autoscaler } : {}),
            target: { kind: this.workloadKind, name: definition.name },
            minReplicas: props.replicas,
            maxReplicas: props.maxReplicas,
          })
        : new k8s.KubeHorizontalPodAutoscalerV2(this, 'Autoscaler', {
            metadata: withAnnotations(metadata, props.exemptions?.autoscaler),
            spec: {
              scaleTargetRef: { apiVersion: 'apps/v1', kind: this.workloadKind, name: definition.name },
              minReplicas: props.replicas,
              maxReplicas: props.maxReplicas,
              metrics: [
                {
                  type: 'Resource',
                  resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: CPU_TARGET_UTILIZATION } },
                },
              ],
              behavior: SCALE_DOWN_BEHAVIOR,
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
      mesh: props.mesh,
    });
    for (const destination of definition.egress ?? []) this.networkPolicy.allowEgressToCidr(destination);

    if (port !== undefined) {
      this.callerPolicy = new PrincipalAllowPolicy(this, 'CallerPolicy', {
        name: `${definition.name}-callers`,
        namespace: props.namespace,
        labels: { ...props.labels, [LABEL.component]: 'authorization' },
        podSelector: props.selectorLabels,
        port,
      });
    }
  }

  /**
   * Lets `client` call this web service, at every layer at once: the client's egress to this
   * service's pods, this service's ingress from the client's pods, and the client's mesh
   * identity in this service's AuthorizationPolicy. The ingress gateway's allow is the edge
   * layer's (a route to the service).
   */
  public allowFrom(client: DataClient): void {
    const port = this.definition.port;
    if (port === undefined || this.callerPolicy === undefined) {
      throw new Error(
        `service ${this.name}: only web services accept calls (type is ${this.definition.type}); ${client.name} cannot be allowed to call it`,
      );
    }
    this.callerPolicy.allow(principalOf(client, this.trustDomain));
    client.addEgress({ purpose: `prefect-${this.name}`, namespace: this.namespace, podSelector: this.selectorLabels, port });
    this.networkPolicy.allowIngress({ namespace: client.namespace, podSelector: client.selectorLabels }, [port]);
  }

  public addEnv(name: string, value: EnvValue): void {
    if (this.env.has(name)) {
      throw new Error(`service ${this.name}: environment variable ${name} is set twice; each relation must use its own names`);
    }
    this.env.set(name, value);
  }

  public addEgress(rule: EgressRule): void {
    this.networkPolicy.allowEgress(rule);
  }

  public mountSecretFile(mount: SecretFileMount): void {
    addMount(this.mounts, mount, `service ${this.name}`);
  }

  /** Admits traffic to the service's port from `rule`'s pods. */
  public allowIngress(rule: IngressRule): void {
    this.networkPolicy.allowIngress({ namespace: rule.namespace, ...(rule.podSelector ? { podSelector: rule.podSelector } : {}) }, [
      rule.port,
    ]);
  }

  /**
   * The environment as the container gets it: the writable home first (unless set), then the
   * variables in the order they were added (so `$(VAR)` references resolve).
   */
  public get environment(): ReadonlyMap<string, EnvValue> {
    return new Map([...[...WRITABLE_HOME].filter(([name]) => !this.env.has(name)), ...this.env]);
  }
}

/**
 * Where the pod's metrics are, in the annotations that Prometheus's Kubernetes discovery reads.
 * Istio's sidecar injector rewrites them to its agent (port 15020, /stats/prometheus), which
 * merges the application's metrics with Envoy's: so Prometheus scrapes without mTLS, under STRICT.
 */
function prometheusAnnotations(definition: ServiceDefinition): Record<string, string> {
  const metrics = definition.metrics;
  const port = metrics?.port ?? definition.port;
  if (metrics === undefined || port === undefined) return {};
  return prometheusScrapeAnnotations(port, metrics.path);
}

function withAnnotations<T extends object>(
  metadata: T,
  annotations: Record<string, string> | undefined,
): T & { annotations?: Record<string, string> } {
  return annotations && Object.keys(annotations).length > 0 ? { ...metadata, annotations } : metadata;
}
