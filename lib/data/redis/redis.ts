import type { Mesh } from '../../mesh/identity';
import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import type { LabelsFor } from '../../core/labels';
import type { RedisName } from '../../catalog/services';
import { minimumRedisMemoryLimit, type Resources } from '../../config/schema';
import { contentHash } from '../../core/content-hash';
import { EXPORTER_EXEMPTIONS, exemptions } from '../../policy/exemption-annotations';
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from '../../core/pod-security';
import { PRIORITY_CLASS } from '../../platform/priority-classes';
import { formatBytes, parseQuantity } from '../../core/quantity';
import { RedisRelations } from './redis-access';
import { aclScript, pingScript, REDIS_PORT, redisConf } from './redis-config';
import { redisSecretId, SECRET_KEY } from '../../catalog/secrets';
import type { PrefectSecrets } from '../secrets/secrets';
import { selectorFor, withVersion } from '../../core/labels';
import { ServerAccess } from '../../mesh/server-access';
import { toResourceRequirements } from '../../core/resources';
import { retainedStatefulSetSpec, ServerServices } from '../server-workload';
import { prometheusScrapeAnnotations, sidecarAnnotations } from '../../mesh/sidecar';
import { EXPORTER_REDIS_ADDRESS, REDIS_EXPORTER_PORT, type RedisStreams, redisExporterContainer } from './redis-exporter';

/** The official image's `redis` user. */
export const REDIS_USER = { uid: 999, gid: 999 } as const;
export const REDIS_IMAGE_REPOSITORY = 'docker.io/library/redis';
const CONFIG_DIR = '/etc/redis';
const SECRET_DIR = '/run/secrets/redis';
const ACL_DIR = '/run/redis';
const DATA_DIR = '/data';

export interface RedisProps {
  readonly instance: RedisName;
  readonly namespace: string;
  /** The official image's full version, e.g. "7.4.6". */
  readonly version: string;
  /** The data set's size: `maxmemory`. */
  readonly memory: string;
  /**
   * @default - 1 CPU, and memory × 1.25 as memory request and limit
   */
  readonly resources?: Resources;
  /**
   * AOF persistence on a retained volume and `noeviction` (a StatefulSet); otherwise an LRU
   * cache without persistence (a Deployment).
   */
  readonly persistent: boolean;
  /** The volume of a persistent instance. */
  readonly storage: { readonly size: string; readonly storageClass?: string };
  readonly secrets: PrefectSecrets;
  readonly mesh: Mesh;
  readonly labelsFor: LabelsFor;
  /**
   * redis_exporter beside the server (monitoring.enabled), announced to Prometheus.
   * @default false
   */
  readonly exporter?: boolean;
  /**
   * The streams this instance holds, which its exporter reports with their consumer groups.
   * @default - none
   */
  readonly streams?: RedisStreams;
}

/**
 * One Redis instance in the cluster ("redis-<instance>"): the official image, non-root,
 * read-only root filesystem, ACL users from a Secret, role-specific configuration, and
 * reachable only by the workloads that `allowFrom` admits. The ACL is written from the Secret
 * when the pod starts: a `secrets.revision` bump restarts the pod so that a new password applies.
 */
export class Redis extends RedisRelations {
  public readonly instance: RedisName;
  /** The streams it holds (RedisProps.streams). */
  public readonly streams?: RedisStreams;
  public readonly name: string;
  public readonly host: string;
  public readonly port = REDIS_PORT;
  public readonly tls = false;
  public readonly image: string;
  public readonly configMap: k8s.KubeConfigMap;
  public readonly workload: k8s.KubeDeployment | k8s.KubeStatefulSet;
  public readonly access: ServerAccess;

  constructor(scope: Construct, id: string, props: RedisProps) {
    super(scope, id);
    const { instance, namespace, version, persistent } = props;
    const name = `redis-${instance}`;
    this.instance = instance;
    if (props.streams) this.streams = props.streams;
    this.name = name;
    this.host = `${name}.${namespace}.svc`;
    this.image = `${REDIS_IMAGE_REPOSITORY}:${version}`;
    const labels = props.labelsFor({ name, component: persistent ? 'queue' : 'cache' });
    const selector = selectorFor(labels);
    const memory = parseQuantity(props.memory);
    const sized = formatBytes(minimumRedisMemoryLimit(memory));
    const resources = props.resources ?? { requests: { cpu: '1', memory: sized }, limits: { memory: sized } };
    const memoryLimit = resources.limits?.memory ?? resources.requests.memory;
    if (parseQuantity(memoryLimit) < minimumRedisMemoryLimit(memory)) {
      throw new Error(
        `${name}: the memory limit ${memoryLimit} leaves too little headroom over maxmemory ${props.memory}; expected at least ${sized}`,
      );
    }

    const conf = redisConf({ instance, maxMemoryBytes: memory, persistent, aclFile: `${ACL_DIR}/users.acl`, dataDir: DATA_DIR });
    this.configMap = new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: `${name}-config`, namespace, labels },
      data: { 'redis.conf': conf },
    });
    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: { name, namespace, labels }, automountServiceAccountToken: false });

    const services = new ServerServices(this, 'Services', {
      name,
      namespace,
      labels,
      selector,
      port: REDIS_PORT,
      targetPort: 'redis',
      portName: 'tcp-redis',
      headless: persistent,
    });

    const secretName = props.secrets.use(redisSecretId(instance), namespace);
    // The probes authenticate with the password the server started with (a copy beside the ACL
    // file), not with the Secret's file, which the kubelet updates in place: a changed Secret
    // must not fail the probes and restart the container with its old ACL over and over.
    const probePasswordFile = { name: 'REDIS_PROBE_PASSWORD_FILE', value: `${ACL_DIR}/probe-password` };
    const exporter = props.exporter ?? false;
    const metricsPasswordFile = `${ACL_DIR}/metrics-password.json`;
    const metricsEnv: k8s.EnvVar[] = exporter
      ? [
          { name: 'REDIS_METRICS_PASSWORD_FILE', value: metricsPasswordFile },
          { name: 'REDIS_ADDR', value: EXPORTER_REDIS_ADDRESS },
        ]
      : [];
    const passwordFiles: k8s.EnvVar[] = [
      { name: 'REDIS_PASSWORD_FILE', value: `${SECRET_DIR}/${SECRET_KEY.password}` },
      { name: 'REDIS_ADMIN_PASSWORD_FILE', value: `${SECRET_DIR}/${SECRET_KEY.adminPassword}` },
    ];
    const probe = (accept: 'ready' | 'alive', periodSeconds: number, failureThreshold: number): k8s.Probe => ({
      exec: { command: ['/bin/sh', '-c', pingScript(accept)] },
      periodSeconds,
      timeoutSeconds: 5,
      failureThreshold,
    });
    const template: k8s.PodTemplateSpec = {
      metadata: {
        labels,
        annotations: {
          ...sidecarAnnotations(5),
          'prefect-cdk8s.io/config-checksum': contentHash(conf),
          ...props.secrets.revisionAnnotation,
          ...(exporter ? prometheusScrapeAnnotations(REDIS_EXPORTER_PORT, '/metrics') : {}),
        },
      },
      spec: {
        serviceAccountName: name,
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        priorityClassName: PRIORITY_CLASS.data,
        securityContext: restrictedPodSecurityContext(REDIS_USER),
        // A persistent instance flushes the AOF on SIGTERM.
        terminationGracePeriodSeconds: persistent ? 60 : 30,
        initContainers: [
          {
            name: 'acl',
            image: this.image,
            imagePullPolicy: 'IfNotPresent',
            command: ['/bin/sh', '-c', aclScript({ metrics: exporter })],
            env: [...passwordFiles, { name: 'REDIS_ACL_FILE', value: `${ACL_DIR}/users.acl` }, probePasswordFile, ...metricsEnv],
            resources: toResourceRequirements({ requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '32Mi' } }),
            securityContext: restrictedContainerSecurityContext(REDIS_USER),
            volumeMounts: [
              { name: 'secret', mountPath: SECRET_DIR, readOnly: true },
              { name: 'acl', mountPath: ACL_DIR },
            ],
          },
        ],
        containers: [
          {
            name: 'redis',
            image: this.image,
            imagePullPolicy: 'IfNotPresent',
            command: ['redis-server', `${CONFIG_DIR}/redis.conf`],
            // For the probes, which run in this container's environment.
            env: [probePasswordFile, { name: 'REDIS_PORT', value: String(REDIS_PORT) }],
            ports: [{ name: 'redis', containerPort: REDIS_PORT, protocol: 'TCP' }],
            resources: toResourceRequirements(resources),
            // Reading a large AOF at start can take minutes: startup allows ten.
            startupProbe: probe('ready', 5, 120),
            readinessProbe: probe('ready', 10, 3),
            livenessProbe: probe('alive', 15, 4),
            securityContext: restrictedContainerSecurityContext(REDIS_USER),
            volumeMounts: [
              { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
              { name: 'secret', mountPath: SECRET_DIR, readOnly: true },
              { name: 'acl', mountPath: ACL_DIR },
              { name: 'data', mountPath: DATA_DIR },
            ],
          },
          ...(exporter
            ? [
                redisExporterContainer({
                  user: REDIS_USER,
                  acl: { volume: 'acl', directory: ACL_DIR, passwordFile: metricsPasswordFile },
                  ...(props.streams ? { streams: props.streams } : {}),
                }),
              ]
            : []),
        ],
        volumes: [
          { name: 'config', configMap: { name: `${name}-config` } },
          {
            name: 'secret',
            secret: {
              secretName,
              items: [SECRET_KEY.password, SECRET_KEY.adminPassword].map((key) => ({ key, path: key })),
              defaultMode: 0o440,
            },
          },
          // The ACL file holds password hashes: memory-backed, never on a disk.
          { name: 'acl', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString('1Mi') } },
          ...(persistent ? [] : [{ name: 'data', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } }]),
        ],
      },
    };

    const singleInstance = persistent
      ? 'one Redis primary per role: queues and streams must not be split over diverging copies, so there is one pod and nothing to spread; use a managed Redis (provider "external") for high availability'
      : 'one cache instance: a second would be a separate cache with other contents, so there is one pod and nothing to spread; losing it costs only cache misses';
    const metadata = {
      name,
      namespace,
      labels: withVersion(labels, version),
      annotations: exemptions({
        kubeLinter: { ...(exporter ? EXPORTER_EXEMPTIONS.kubeLinter : {}) },
        polaris: {
          ...(exporter ? EXPORTER_EXEMPTIONS.polaris : {}),
          topologySpreadConstraint: singleInstance,
          // Polaris asks Deployments (not StatefulSets) for replicas and a budget.
          ...(persistent
            ? {}
            : {
                deploymentMissingReplicas: singleInstance,
                missingPodDisruptionBudget:
                  'a budget for a single pod either protects nothing or blocks every node drain; the cache is rebuilt from the database after a restart',
              }),
        },
      }),
    };
    this.workload = persistent
      ? new k8s.KubeStatefulSet(this, 'Resource', {
          metadata,
          spec: retainedStatefulSetSpec({ serviceName: services.headlessName, selector, labels, storage: props.storage, template }),
        })
      : new k8s.KubeDeployment(this, 'Resource', {
          metadata,
          spec: {
            replicas: 1,
            revisionHistoryLimit: 5,
            selector: { matchLabels: selector },
            // The old cache serves until the new one is ready; both are empty-able caches.
            strategy: {
              type: 'RollingUpdate',
              rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(0), maxSurge: k8s.IntOrString.fromNumber(1) },
            },
            template,
          },
        });

    this.access = new ServerAccess(this, 'Access', {
      name,
      namespace,
      labels,
      podSelector: selector,
      port: REDIS_PORT,
      mesh: props.mesh,
    });
    this.relate({
      instance,
      host: this.host,
      port: REDIS_PORT,
      tls: false,
      secrets: props.secrets,
      admit: (client) => this.access.admit(client),
      egress: this.access.egressRule(name),
    });
  }
}
