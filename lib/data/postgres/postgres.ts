import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { contentHash } from '../../core/content-hash';
import { EXPORTER_EXEMPTIONS, exemptions, SINGLE_INSTANCE_REASON } from '../../policy/exemption-annotations';
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from '../../core/pod-security';
import { PostgresRelations, type InClusterPostgresProps, type SslMode } from './postgres-access';
import { postgresConfFiles, sizingOf } from './postgres-config';
import { PRIORITY_CLASS } from '../../platform/priority-classes';
import { formatBytes, parseQuantity } from '../../core/quantity';
import { SECRET_KEY } from '../../catalog/secrets';
import { selectorFor, withVersion } from '../../core/labels';
import { ServerAccess } from '../../mesh/server-access';
import { toResourceRequirements } from '../../core/resources';
import { retainedStatefulSetSpec, ServerServices } from '../server-workload';
import { prometheusScrapeAnnotations, sidecarAnnotations } from '../../mesh/sidecar';
import { POSTGRES_EXPORTER_PORT, postgresExporterContainer } from './postgres-exporter';

/** The official image's `postgres` user. */
export const POSTGRES_USER = { uid: 999, gid: 999 } as const;
export const POSTGRES_PORT = 5432;
export const POSTGRES_IMAGE_REPOSITORY = 'docker.io/library/postgres';
const CONFIG_DIR = '/etc/postgresql';
const SUPERUSER_DIR = '/run/secrets/postgres-superuser';
/** Fast shutdown rolls back open transactions and checkpoints; a large shared_buffers takes a while. */
const TERMINATION_GRACE_SECONDS = 120;

/** Where the volume is mounted and where PGDATA lives in it (the image moved it in 18). */
export function dataPaths(version: string): { readonly mountPath: string; readonly pgdata: string } {
  const major = Number(version.split('.')[0]);
  // 18+: the image's volume is /var/lib/postgresql and PGDATA a versioned folder inside it, so
  // that pg_upgrade --link can keep old and new clusters on one volume.
  if (major >= 18) return { mountPath: '/var/lib/postgresql', pgdata: `/var/lib/postgresql/${major}/docker` };
  // Up to 17: a subfolder of the mount, because the volume's root holds lost+found.
  return { mountPath: '/var/lib/postgresql/data', pgdata: '/var/lib/postgresql/data/pgdata' };
}

/** The StatefulSet's props: those of every in-cluster server (`name` also names its volume: a rename loses it). */
export interface PostgresProps extends InClusterPostgresProps {
  /**
   * postgres_exporter beside the server (monitoring.enabled), announced to Prometheus.
   * @default false
   */
  readonly exporter?: boolean;
}

/**
 * PostgreSQL as a single-instance StatefulSet of the official image: non-root (uid 999),
 * read-only root filesystem, a retained volume, postgresql.conf sized from the container's
 * resources, SCRAM only, and reachable only by the workloads that relations admit.
 *
 * Its pods do not restart on a `secrets.revision` bump: after initdb the server reads no Secret
 * (the roles' passwords live in its catalog, set by the init Jobs), so a restart would be an
 * outage for nothing.
 */
export class Postgres extends PostgresRelations {
  public readonly name: string;
  public readonly host: string;
  public readonly port = POSTGRES_PORT;
  /** The mesh encrypts connections (Istio mTLS); the server does not speak TLS itself. */
  public readonly sslMode: SslMode = 'disable';
  public readonly image: string;
  public readonly statefulSet: k8s.KubeStatefulSet;
  public readonly configMap: k8s.KubeConfigMap;
  public readonly access: ServerAccess;

  constructor(scope: Construct, id: string, props: PostgresProps) {
    super(scope, id);
    const name = props.name ?? 'postgres';
    const { namespace, version } = props;
    this.name = name;
    this.host = `${name}.${namespace}.svc`;
    this.image = `${POSTGRES_IMAGE_REPOSITORY}:${version}`;
    const labels = props.labelsFor({ name, component: 'database' });
    const selector = selectorFor(labels);
    const sizing = sizingOf(props);
    const { mountPath, pgdata } = dataPaths(version);

    const exporter = props.exporter ?? false;
    const files = postgresConfFiles(sizing, CONFIG_DIR, props.databases, exporter);
    this.configMap = new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: `${name}-config`, namespace, labels },
      data: { ...files },
    });

    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: { name, namespace, labels }, automountServiceAccountToken: false });

    const services = new ServerServices(this, 'Services', {
      name,
      namespace,
      labels,
      selector,
      port: POSTGRES_PORT,
      targetPort: 'postgres',
      portName: 'tcp-postgres',
      headless: true,
    });

    const pgIsReady: k8s.ExecAction = { command: ['pg_isready', '--host=127.0.0.1', `--port=${POSTGRES_PORT}`, '--timeout=5', '--quiet'] };
    const memoryBytes = parseQuantity(sizing.memory);
    // Parallel queries share memory through /dev/shm; the runtime's default (64 MiB) is too small.
    const shmBytes = Math.min(Math.max(memoryBytes / 8, 64 * 2 ** 20), 2 ** 30);
    const superuserSecret = props.secrets.use('postgres-superuser', namespace);

    this.statefulSet = new k8s.KubeStatefulSet(this, 'Resource', {
      metadata: {
        name,
        namespace,
        labels: withVersion(labels, version),
        annotations: exemptions({
          kubeLinter: { ...(exporter ? EXPORTER_EXEMPTIONS.kubeLinter : {}) },
          polaris: { topologySpreadConstraint: SINGLE_INSTANCE_REASON, ...(exporter ? EXPORTER_EXEMPTIONS.polaris : {}) },
        }),
      },
      spec: retainedStatefulSetSpec({
        serviceName: services.headlessName,
        selector,
        labels,
        storage: props.storage,
        template: {
          metadata: {
            labels,
            annotations: {
              ...sidecarAnnotations(10),
              // A configuration change rolls the pod (PostgreSQL reads most settings at start).
              'prefect-cdk8s.io/config-checksum': contentHash(files),
              ...(exporter ? prometheusScrapeAnnotations(POSTGRES_EXPORTER_PORT, '/metrics') : {}),
            },
          },
          spec: {
            serviceAccountName: name,
            automountServiceAccountToken: false,
            priorityClassName: PRIORITY_CLASS.data,
            // A Service named "postgres" would otherwise inject POSTGRES_PORT=tcp://…, which the
            // image's entrypoint reads as its own setting.
            enableServiceLinks: false,
            securityContext: restrictedPodSecurityContext(POSTGRES_USER),
            terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
            containers: [
              {
                name: 'postgres',
                image: this.image,
                imagePullPolicy: 'IfNotPresent',
                args: ['postgres', '-c', `config_file=${CONFIG_DIR}/postgresql.conf`],
                env: [
                  { name: 'PGDATA', value: pgdata },
                  // Read by the entrypoint once, to create the cluster on an empty volume.
                  {
                    name: 'POSTGRES_USER',
                    valueFrom: { secretKeyRef: props.secrets.keyRef('postgres-superuser', SECRET_KEY.username, namespace) },
                  },
                  { name: 'POSTGRES_PASSWORD_FILE', value: `${SUPERUSER_DIR}/${SECRET_KEY.password}` },
                  {
                    name: 'POSTGRES_INITDB_ARGS',
                    value: '--auth-host=scram-sha-256 --auth-local=scram-sha-256 --data-checksums --encoding=UTF8 --locale=C.UTF-8',
                  },
                ],
                ports: [{ name: 'postgres', containerPort: POSTGRES_PORT, protocol: 'TCP' }],
                resources: toResourceRequirements(props.resources),
                // Over TCP, not the socket: during first-start initialization the image runs a
                // temporary server on the socket only, which must not count as started.
                startupProbe: { exec: pgIsReady, periodSeconds: 10, timeoutSeconds: 6, failureThreshold: 90 },
                readinessProbe: { exec: pgIsReady, periodSeconds: 10, timeoutSeconds: 6, failureThreshold: 3 },
                livenessProbe: { exec: pgIsReady, periodSeconds: 15, timeoutSeconds: 6, failureThreshold: 6 },
                lifecycle: {
                  // Fast shutdown (roll back, checkpoint, exit) rather than waiting for clients to
                  // disconnect, whatever signal the runtime would send.
                  preStop: {
                    exec: {
                      command: [
                        'pg_ctl',
                        'stop',
                        `--pgdata=${pgdata}`,
                        '--mode=fast',
                        '--wait',
                        `--timeout=${TERMINATION_GRACE_SECONDS - 20}`,
                      ],
                    },
                  },
                },
                securityContext: restrictedContainerSecurityContext(POSTGRES_USER),
                volumeMounts: [
                  { name: 'data', mountPath },
                  { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                  { name: 'superuser', mountPath: SUPERUSER_DIR, readOnly: true },
                  { name: 'run', mountPath: '/var/run/postgresql' },
                  { name: 'tmp', mountPath: '/tmp' },
                  { name: 'shm', mountPath: '/dev/shm' },
                ],
              },
              ...(exporter
                ? [
                    postgresExporterContainer({
                      user: POSTGRES_USER,
                      socket: { volume: 'run', directory: '/var/run/postgresql' },
                      configVolume: 'config',
                    }),
                  ]
                : []),
            ],
            volumes: [
              { name: 'config', configMap: { name: this.configMap.name } },
              {
                name: 'superuser',
                secret: {
                  secretName: superuserSecret,
                  items: [{ key: SECRET_KEY.password, path: SECRET_KEY.password }],
                  defaultMode: 0o440,
                },
              },
              { name: 'run', emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } },
              { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } },
              {
                name: 'shm',
                emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString(formatBytes(Math.floor(shmBytes / 2 ** 20) * 2 ** 20)) },
              },
            ],
          },
        },
      }),
    });

    this.access = new ServerAccess(this, 'Access', {
      name,
      namespace,
      labels,
      podSelector: selector,
      port: POSTGRES_PORT,
      mesh: props.mesh,
    });
    this.relate({
      host: this.host,
      port: POSTGRES_PORT,
      sslMode: this.sslMode,
      secrets: props.secrets,
      admit: (client) => this.access.admit(client),
      egress: this.access.egressRule('postgres'),
    });
  }
}
