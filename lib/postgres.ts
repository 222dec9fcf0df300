import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import type { LayerChart } from './charts/layer-chart';
import type { DatabaseName } from './catalog';
import type { Resources } from './config/schema';
import { contentHash } from './content-hash';
import type { DataClient } from './data-client';
import { FLUX_PRUNE_DISABLED } from './flux-annotations';
import { exemptions, SINGLE_INSTANCE_REASON } from './policy-exemptions';
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from './pod-security';
import { PostgresAccess, type PostgresServer, type SslMode } from './postgres-access';
import { postgresConfFiles } from './postgres-config';
import { formatBytes, parseQuantity } from './quantity';
import { SECRET_KEY } from './secret-catalog';
import { selectorFor } from './selector';
import type { PrefectSecrets } from './secrets';
import { ServerAccess } from './server-access';
import { sidecarAnnotations } from './sidecar';

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

export interface PostgresProps {
  readonly namespace: string;
  /** The official image's full version, e.g. "17.6". */
  readonly version: string;
  readonly resources: Resources;
  readonly storage: { readonly size: string; readonly storageClass?: string };
  /** postgresql.conf's max_connections (lib/postgres-config.ts sizes it for the services). */
  readonly maxConnections: number;
  readonly secrets: PrefectSecrets;
  readonly istioNamespace: string;
  readonly labelsFor: LayerChart['labelsFor'];
  /**
   * Names the StatefulSet, its Services and policies. A rename loses the volume.
   * @default 'postgres'
   */
  readonly name?: string;
}

/**
 * PostgreSQL as a single-instance StatefulSet of the official image: non-root (uid 999),
 * read-only root filesystem, a retained volume, postgresql.conf sized from the container's
 * resources, SCRAM only, and reachable only by the workloads that relations admit.
 */
export class Postgres extends Construct implements PostgresServer {
  public readonly name: string;
  public readonly host: string;
  public readonly port = POSTGRES_PORT;
  /** The mesh encrypts connections (Istio mTLS); the server does not speak TLS itself. */
  public readonly sslMode: SslMode = 'disable';
  public readonly image: string;
  public readonly statefulSet: k8s.KubeStatefulSet;
  public readonly configMap: k8s.KubeConfigMap;
  public readonly access: ServerAccess;
  private readonly relations: PostgresAccess;

  constructor(scope: Construct, id: string, props: PostgresProps) {
    super(scope, id);
    const name = props.name ?? 'postgres';
    const { namespace, version } = props;
    this.name = name;
    this.host = `${name}.${namespace}.svc`;
    this.image = `${POSTGRES_IMAGE_REPOSITORY}:${version}`;
    const labels = props.labelsFor({ name, component: 'database', version });
    const selector = selectorFor(labels);
    const memoryLimit = props.resources.limits?.memory ?? props.resources.requests.memory;
    const { mountPath, pgdata } = dataPaths(version);

    const files = postgresConfFiles(
      { memory: memoryLimit, cpu: props.resources.limits?.cpu ?? props.resources.requests.cpu, storage: props.storage.size, maxConnections: props.maxConnections },
      CONFIG_DIR,
    );
    this.configMap = new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: `${name}-config`, namespace, labels },
      data: { ...files },
    });

    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: { name, namespace, labels }, automountServiceAccountToken: false });

    const servicePort: k8s.ServicePort = { name: 'tcp-postgres', port: POSTGRES_PORT, targetPort: k8s.IntOrString.fromString('postgres'), protocol: 'TCP', appProtocol: 'tcp' };
    const headlessName = `${name}-headless`;
    new k8s.KubeService(this, 'HeadlessService', {
      metadata: { name: headlessName, namespace, labels },
      spec: { clusterIp: 'None', selector, ports: [servicePort] },
    });
    new k8s.KubeService(this, 'Service', {
      metadata: { name, namespace, labels },
      spec: { type: 'ClusterIP', selector, ports: [servicePort] },
    });

    const pgIsReady: k8s.ExecAction = { command: ['pg_isready', '--host=127.0.0.1', `--port=${POSTGRES_PORT}`, '--timeout=5', '--quiet'] };
    const memoryBytes = parseQuantity(memoryLimit);
    // Parallel queries share memory through /dev/shm; the runtime's default (64 MiB) is too small.
    const shmBytes = Math.min(Math.max(memoryBytes / 8, 64 * 2 ** 20), 2 ** 30);
    const resources: k8s.ResourceRequirements = {
      requests: { cpu: k8s.Quantity.fromString(props.resources.requests.cpu), memory: k8s.Quantity.fromString(props.resources.requests.memory) },
      limits: {
        ...(props.resources.limits?.cpu ? { cpu: k8s.Quantity.fromString(props.resources.limits.cpu) } : {}),
        memory: k8s.Quantity.fromString(memoryLimit),
      },
    };
    const superuserSecret = props.secrets.use('postgres-superuser', namespace);

    this.statefulSet = new k8s.KubeStatefulSet(this, 'Resource', {
      metadata: {
        name,
        namespace,
        labels,
        annotations: exemptions({ topologySpreadConstraint: SINGLE_INSTANCE_REASON }),
      },
      spec: {
        serviceName: headlessName,
        replicas: 1,
        revisionHistoryLimit: 5,
        selector: { matchLabels: selector },
        podManagementPolicy: 'OrderedReady',
        updateStrategy: { type: 'RollingUpdate' },
        // Deleting or scaling down the StatefulSet never deletes the database's volume.
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
        template: {
          metadata: {
            labels,
            annotations: {
              ...sidecarAnnotations(10),
              // A configuration change rolls the pod (PostgreSQL reads most settings at start).
              'prefect-cdk8s.io/config-checksum': contentHash(files),
            },
          },
          spec: {
            serviceAccountName: name,
            automountServiceAccountToken: false,
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
                  { name: 'POSTGRES_USER', valueFrom: { secretKeyRef: props.secrets.keyRef('postgres-superuser', SECRET_KEY.username, namespace) } },
                  { name: 'POSTGRES_PASSWORD_FILE', value: `${SUPERUSER_DIR}/${SECRET_KEY.password}` },
                  { name: 'POSTGRES_INITDB_ARGS', value: '--auth-host=scram-sha-256 --auth-local=scram-sha-256 --data-checksums --encoding=UTF8 --locale=C.UTF-8' },
                ],
                ports: [{ name: 'postgres', containerPort: POSTGRES_PORT, protocol: 'TCP' }],
                resources,
                // Over TCP, not the socket: during first-start initialization the image runs a
                // temporary server on the socket only, which must not count as started.
                startupProbe: { exec: pgIsReady, periodSeconds: 10, timeoutSeconds: 6, failureThreshold: 90 },
                readinessProbe: { exec: pgIsReady, periodSeconds: 10, timeoutSeconds: 6, failureThreshold: 3 },
                livenessProbe: { exec: pgIsReady, periodSeconds: 15, timeoutSeconds: 6, failureThreshold: 6 },
                lifecycle: {
                  // Fast shutdown (roll back, checkpoint, exit) rather than waiting for clients to
                  // disconnect, whatever signal the runtime would send.
                  preStop: { exec: { command: ['pg_ctl', 'stop', `--pgdata=${pgdata}`, '--mode=fast', '--wait', `--timeout=${TERMINATION_GRACE_SECONDS - 20}`] } },
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
            ],
            volumes: [
              { name: 'config', configMap: { name: this.configMap.name } },
              { name: 'superuser', secret: { secretName: superuserSecret, items: [{ key: SECRET_KEY.password, path: SECRET_KEY.password }], defaultMode: 0o440 } },
              { name: 'run', emptyDir: { sizeLimit: k8s.Quantity.fromString('16Mi') } },
              { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } },
              { name: 'shm', emptyDir: { medium: 'Memory', sizeLimit: k8s.Quantity.fromString(formatBytes(Math.floor(shmBytes / 2 ** 20) * 2 ** 20)) } },
            ],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: 'data', labels, annotations: { ...FLUX_PRUNE_DISABLED } },
            spec: {
              accessModes: ['ReadWriteOnce'],
              ...(props.storage.storageClass ? { storageClassName: props.storage.storageClass } : {}),
              resources: { requests: { storage: k8s.Quantity.fromString(props.storage.size) } },
            },
          },
        ],
      },
    });

    this.access = new ServerAccess(this, 'Access', { name, namespace, labels, podSelector: selector, port: POSTGRES_PORT, istioNamespace: props.istioNamespace });
    this.relations = new PostgresAccess({
      host: this.host,
      port: POSTGRES_PORT,
      sslMode: this.sslMode,
      secrets: props.secrets,
      admit: (client) => this.access.admit(client),
      egress: this.access.egressRule('postgres'),
    });
  }

  public grantDatabase(client: DataClient, database: DatabaseName): void {
    this.relations.grantDatabase(client, database);
  }

  public grantSuperuser(client: DataClient): void {
    this.relations.grantSuperuser(client);
  }
}
