import { k8s } from 'cdk8s-plus-28';
import { restrictedContainerSecurityContext } from '../../core/pod-security';
import { toResourceRequirements } from '../../core/resources';

/*
 * redis_exporter beside each Redis (monitoring.enabled). It logs in as the ACL user "metrics",
 * whose password the init container draws at random each time the pod starts and leaves, with
 * its hash in the ACL file, in the pod's memory-backed volume: no Secret to create, no password
 * in Git, and the user may run the exporter's read-only commands and nothing else. The tests run
 * this exact version (tools/go/redis-exporter) against a real redis-server with the generated
 * configuration and ACL, and read every metric the alert rules use.
 */

export const REDIS_EXPORTER = {
  image: 'docker.io/oliver006/redis_exporter',
  version: 'v1.74.0',
} as const;
export const REDIS_EXPORTER_PORT = 9121;
export const METRICS_USER = 'metrics';
/** Answers without asking Redis anything. */
export const REDIS_EXPORTER_LIVENESS_PATH = '/health';
/** Where the exporter connects: the server in its own pod (the key of its password file, too). */
export const EXPORTER_REDIS_ADDRESS = 'redis://127.0.0.1:6379';

/**
 * What the exporter runs, and nothing else: INFO and the server's settings, the slow log and
 * latency, clients, and for streams SCAN, TYPE and XINFO on read-only key access. No data command,
 * no write, no administration beyond reading.
 */
export const METRICS_COMMANDS = [
  'ping',
  'info',
  'select',
  'config|get',
  'slowlog|get',
  'slowlog|len',
  'latency|latest',
  'latency|histogram',
  'client|list',
  'client|setname',
  'cluster|info',
  'scan',
  'type',
  'xinfo|stream',
  'xinfo|groups',
  'xinfo|consumers',
  'memory|usage',
] as const;

/** The ACL line of the metrics user, with the shell variable that holds its password's hash. */
export function metricsAclLine(hashVariable: string): string {
  return `user ${METRICS_USER} on #$${hashVariable} resetchannels %R~* -@all ${METRICS_COMMANDS.map((command) => `+${command}`).join(' ')}`;
}

export interface RedisExporterProps {
  readonly user: { readonly uid: number; readonly gid: number };
  /** The memory-backed volume the init container writes the password file to, and its directory. */
  readonly acl: { readonly volume: string; readonly directory: string; readonly passwordFile: string };
  /**
   * Export streams and their consumer groups (lag, pending entries): the named streams, or every
   * stream of database 0, found by scanning every key (where their names are not known).
   * @default - none
   */
  readonly streams?: RedisStreams;
}

/** The streams an instance holds: those named, or all of database 0. */
export type RedisStreams = 'all' | readonly string[];

/** The exporter's container (`metrics`), on REDIS_EXPORTER_PORT. */
export function redisExporterContainer(props: RedisExporterProps): k8s.Container {
  return {
    name: 'metrics',
    image: `${REDIS_EXPORTER.image}:${REDIS_EXPORTER.version}`,
    imagePullPolicy: 'IfNotPresent',
    env: [
      { name: 'REDIS_ADDR', value: EXPORTER_REDIS_ADDRESS },
      { name: 'REDIS_USER', value: METRICS_USER },
      { name: 'REDIS_PASSWORD_FILE', value: props.acl.passwordFile },
      { name: 'REDIS_EXPORTER_WEB_LISTEN_ADDRESS', value: `:${REDIS_EXPORTER_PORT}` },
      // Each stream's consumer groups (lag, pending entries), without a series per consumer pod:
      // the known streams by name; otherwise every stream, found by SCAN and TYPE.
      ...(props.streams
        ? [
            props.streams === 'all'
              ? { name: 'REDIS_EXPORTER_CHECK_STREAMS', value: 'db0=*' }
              : {
                  name: 'REDIS_EXPORTER_CHECK_SINGLE_STREAMS',
                  value: props.streams.map((stream) => `db0=${encodeURIComponent(stream)}`).join(','),
                },
            { name: 'REDIS_EXPORTER_STREAMS_EXCLUDE_CONSUMER_METRICS', value: 'true' },
          ]
        : []),
    ],
    ports: [{ name: 'metrics', containerPort: REDIS_EXPORTER_PORT, protocol: 'TCP' }],
    // A hung exporter is restarted alone. No readiness probe: the pod's readiness (its Service's
    // endpoints) is the server's, never its exporter's.
    livenessProbe: {
      httpGet: { path: REDIS_EXPORTER_LIVENESS_PATH, port: k8s.IntOrString.fromString('metrics') },
      periodSeconds: 30,
      timeoutSeconds: 5,
      failureThreshold: 3,
    },
    resources: toResourceRequirements({ requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '64Mi' } }),
    securityContext: restrictedContainerSecurityContext(props.user),
    volumeMounts: [{ name: props.acl.volume, mountPath: props.acl.directory, readOnly: true }],
  };
}
