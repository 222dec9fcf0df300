import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import {
  Cluster,
  ClusterSpecManagedRolesEnsure,
  ClusterSpecResourcesLimits,
  ClusterSpecResourcesRequests,
  Database,
  DatabaseSpecDatabaseReclaimPolicy,
  DatabaseSpecEnsure,
  DatabaseSpecExtensionsEnsure,
  ScheduledBackup,
  ScheduledBackupSpecBackupOwnerReference,
  ScheduledBackupSpecMethod,
} from '../../../imports/cloudnative-pg-postgresql.cnpg.io';
import {
  ObjectStore,
  ObjectStoreSpecConfigurationDataCompression,
  ObjectStoreSpecConfigurationWalCompression,
  ObjectStoreSpecInstanceSidecarConfigurationResourcesLimits,
  ObjectStoreSpecInstanceSidecarConfigurationResourcesRequests,
} from '../../../imports/barman-cloud-barmancloud.cnpg.io';
import { CLOUDNATIVE_PG_CLUSTER_NAME } from '../../config/data-schema';
import { withVersion } from '../../core/labels';
import type { EnvironmentConfig } from '../../config/load';
import { CLOUDNATIVE_PG_NAMESPACE } from '../../platform/cloudnative-pg-operator';
import { PostgresRelations, roleName, type InClusterPostgresProps, type SslMode } from './postgres-access';
import { operatorParameters, pgHbaIsolation, PRELOADED_LIBRARIES, sizingOf } from './postgres-config';
import { PRIORITY_CLASS } from '../../platform/priority-classes';
import { roleSecretId, SECRET_KEY } from '../../catalog/secrets';
import { ServerAccess } from '../../mesh/server-access';
import { NO_SIDECAR_LABEL } from '../../mesh/sidecar';
import { tableMaintenanceQueries } from './table-maintenance';

export const CLOUDNATIVE_PG_IMAGE_REPOSITORY = 'ghcr.io/cloudnative-pg/postgresql';
const PORT = 5432;
/** The superuser CloudNativePG creates (its Secret's username must be this). */
const CLOUDNATIVE_PG_SUPERUSER = 'postgres';
/** The instance manager's status port, which the operator and the other instances call. */
const STATUS_PORT = 8000;

/** The Barman Cloud plugin's name, as Clusters and ScheduledBackups refer to it. */
export const BARMAN_CLOUD_PLUGIN = 'barman-cloud.cloudnative-pg.io';
/**
 * The resources of the plugin's sidecar in every instance (WAL archiving, base backups), set on
 * the ObjectStore and counted by the capacity check.
 */
export const BARMAN_CLOUD_SIDECAR_RESOURCES = { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } } as const;
/**
 * The role CloudNativePG's exporter logs in as (1.30 and 1.29.2 on: peer authentication over the
 * instance's socket, pg_monitor): the init Jobs give it CONNECT on the Prefect databases.
 */
export const CLOUDNATIVE_PG_METRICS_ROLE = 'cnpg_metrics_exporter';
/** Every instance's metrics port (CloudNativePG's exporter, named "metrics"), served over TLS. */
export const CLOUDNATIVE_PG_METRICS_PORT = 9187;
/** The key of the custom queries in their ConfigMap. */
const CUSTOM_QUERIES_KEY = 'queries';
/** The name of the recovery source among the Cluster's externalClusters. */
const RECOVERY_SOURCE = 'origin';

/** Instances when `postgres.instances` is not set: high availability where the cluster has zones to spread over. */
export const DEFAULT_MULTI_ZONE_INSTANCES = 3;

/**
 * `postgres.instances` when omitted: a primary and two replicas, one per zone, on a cluster with
 * more than one zone (one per node when there are fewer nodes); one instance otherwise.
 */
export function defaultInstances(cluster: Pick<EnvironmentConfig['cluster'], 'zones' | 'nodes'>): number {
  return cluster.zones.length > 1 ? Math.min(DEFAULT_MULTI_ZONE_INSTANCES, cluster.nodes) : 1;
}

export interface CloudNativePostgresProps extends InClusterPostgresProps {
  /** A primary and `instances - 1` streaming replicas. */
  readonly instances: number;
  /** Spread the instances over these zones (when more than one). */
  readonly zones: readonly string[];
  readonly backup?: EnvironmentConfig['postgres']['backup'];
}

/**
 * PostgreSQL run by the CloudNativePG operator: a `Cluster` (a primary and streaming replicas
 * with automated failover), the three databases and their roles declared as resources, and with
 * an object store, WAL archiving and a ScheduledBackup. What the operator does not declare (the
 * privileges on what the migrations create, CONNECT revoked from PUBLIC) the init Jobs set, in
 * their privileges-only form (lib/data/postgres/database-init-job.ts). A Secret's new password reaches the
 * roles without a restart: the operator reconciles managed roles when their Secrets change.
 *
 * The instances run outside the mesh: the operator (itself outside) calls each instance's
 * status port and the instances replicate among themselves with their own certificates, which
 * Istio STRICT mTLS would refuse. They are protected instead by the server's TLS (CloudNativePG
 * issues it: clients use sslmode "require"), by pg_hba (each role only in its own database,
 * TLS only) and by a NetworkPolicy that admits only the clients, the operator and the
 * instances themselves.
 */
export class CloudNativePostgres extends PostgresRelations {
  public readonly name: string;
  /** The read-write Service that CloudNativePG keeps pointed at the primary. */
  public readonly host: string;
  public readonly port = PORT;
  public readonly sslMode: SslMode = 'require';
  public readonly cluster: Cluster;
  public readonly access: ServerAccess;
  /** A primary and `instances - 1` streaming replicas. */
  public readonly instances: number;
  /** Whether WAL is archived and base backups are taken (postgres.backup). */
  public readonly backedUp: boolean;
  /** The Secret with the CA of the instances' server certificate (CloudNativePG's own), under ca.crt. */
  public readonly caSecret: string;
  /** The name the server certificate is issued for, which a client verifying it expects. */
  public readonly serverName: string;
  /** The ConfigMap of the exporter's custom queries. */
  public readonly monitoringQueries: string;

  constructor(scope: Construct, id: string, props: CloudNativePostgresProps) {
    super(scope, id);
    const name = props.name ?? CLOUDNATIVE_PG_CLUSTER_NAME;
    const { namespace, secrets } = props;
    this.name = name;
    this.host = `${name}-rw.${namespace}.svc`;
    const labels = props.labelsFor({ name, component: 'database' });
    const podSelector = { 'cnpg.io/cluster': name };
    const sizing = sizingOf(props);
    const backup = props.backup;
    const recovery = backup?.recovery;
    this.instances = props.instances;
    this.backedUp = backup !== undefined;
    this.caSecret = `${name}-ca`;
    this.serverName = `${name}-rw`;
    // The Prefect databases' table statistics (the bloat and autovacuum alerts), beside
    // CloudNativePG's default queries; the label makes the instances reload it when it changes.
    this.monitoringQueries = `${name}-monitoring`;
    new k8s.KubeConfigMap(this, 'MonitoringQueries', {
      metadata: { name: this.monitoringQueries, namespace, labels: { ...labels, 'cnpg.io/reload': '' } },
      data: {
        [CUSTOM_QUERIES_KEY]: `# Generated by prefect-cdk8s: CloudNativePG's custom queries.\n${tableMaintenanceQueries({ targetDatabases: props.databases, primaryOnly: true })}`,
      },
    });

    this.cluster = new Cluster(this, 'Resource', {
      metadata: { name, namespace, labels: withVersion(labels, props.version) },
      spec: {
        instances: props.instances,
        imageName: `${CLOUDNATIVE_PG_IMAGE_REPOSITORY}:${props.version}`,
        // Pods carry the recommended labels too, and stay out of the mesh (see above).
        inheritedMetadata: { labels: { ...labels, ...NO_SIDECAR_LABEL } },
        enableSuperuserAccess: true,
        superuserSecret: { name: secrets.use('postgres-superuser', namespace) },
        // A new Cluster starts empty, or from the backups of another one (point-in-time recovery).
        bootstrap: recovery
          ? {
              recovery: {
                source: RECOVERY_SOURCE,
                database: 'orion',
                owner: roleName('orion'),
                secret: { name: secrets.use(roleSecretId('orion'), namespace) },
                ...(recovery.targetTime ? { recoveryTarget: { targetTime: recovery.targetTime } } : {}),
              },
            }
          : {
              initdb: {
                database: 'orion',
                owner: roleName('orion'),
                secret: { name: secrets.use(roleSecretId('orion'), namespace) },
                dataChecksums: true,
                encoding: 'UTF8',
              },
            },
        ...(recovery
          ? {
              externalClusters: [
                {
                  name: RECOVERY_SOURCE,
                  plugin: { name: BARMAN_CLOUD_PLUGIN, parameters: { barmanObjectName: name, serverName: recovery.serverName } },
                },
              ],
            }
          : {}),
        managed: {
          roles: props.databases.map((database) => ({
            name: roleName(database),
            ensure: ClusterSpecManagedRolesEnsure.PRESENT,
            login: true,
            superuser: false,
            createdb: false,
            createrole: false,
            replication: false,
            bypassrls: false,
            inherit: true,
            passwordSecret: { name: secrets.use(roleSecretId(database), namespace) },
          })),
        },
        postgresql: {
          parameters: operatorParameters(sizing),
          // auto_explain too: CloudNativePG adds a library it knows to shared_preload_libraries when
          // its settings are among the parameters, and accepts it listed here as well.
          sharedPreloadLibraries: [...PRELOADED_LIBRARIES],
          // CONNECT is granted to PUBLIC on a new database and Database resources cannot revoke
          // it: pg_hba keeps each role in its own database, and the init Jobs revoke it.
          pgHba: pgHbaIsolation('hostssl', props.databases),
        },
        // The exporter on every instance: TLS with the server's certificate (the instances are
        // outside the mesh), CloudNativePG's default queries and the ones above.
        monitoring: {
          tls: { enabled: true },
          customQueriesConfigMap: [{ name: this.monitoringQueries, key: CUSTOM_QUERIES_KEY }],
        },
        priorityClassName: PRIORITY_CLASS.data,
        storage: { size: props.storage.size, ...(props.storage.storageClass ? { storageClass: props.storage.storageClass } : {}) },
        resources: {
          requests: {
            cpu: ClusterSpecResourcesRequests.fromString(props.resources.requests.cpu),
            memory: ClusterSpecResourcesRequests.fromString(props.resources.requests.memory),
          },
          limits: {
            ...(props.resources.limits?.cpu ? { cpu: ClusterSpecResourcesLimits.fromString(props.resources.limits.cpu) } : {}),
            memory: ClusterSpecResourcesLimits.fromString(sizing.memory),
          },
        },
        // One instance per node where possible (CloudNativePG's anti-affinity), and one per zone.
        affinity: { enablePodAntiAffinity: true, topologyKey: 'kubernetes.io/hostname', podAntiAffinityType: 'preferred' },
        ...(props.zones.length > 1 && props.instances > 1
          ? {
              topologySpreadConstraints: [
                {
                  maxSkew: 1,
                  topologyKey: 'topology.kubernetes.io/zone',
                  whenUnsatisfiable: 'DoNotSchedule',
                  labelSelector: { matchLabels: podSelector },
                },
              ],
            }
          : {}),
        // WAL archiving and base backups by the Barman Cloud plugin (CloudNativePG's in-tree
        // barmanObjectStore is deprecated since 1.26), to the ObjectStore below.
        ...(backup
          ? {
              plugins: [
                {
                  name: BARMAN_CLOUD_PLUGIN,
                  isWalArchiver: true,
                  parameters: { barmanObjectName: name, ...(backup.serverName ? { serverName: backup.serverName } : {}) },
                },
              ],
            }
          : {}),
      },
    });

    for (const database of props.databases) {
      new Database(this, `Database-${database}`, {
        metadata: { name: `${name}-${database}`, namespace, labels },
        spec: {
          cluster: { name },
          name: database,
          // The superuser owns the database (the migrations run as it); the role may connect and
          // use what they create (the init Job's privileges), not create schemas or extensions.
          owner: CLOUDNATIVE_PG_SUPERUSER,
          ensure: DatabaseSpecEnsure.PRESENT,
          // Deleting the resource never drops the database.
          databaseReclaimPolicy: DatabaseSpecDatabaseReclaimPolicy.RETAIN,
          encoding: 'UTF8',
          extensions: [{ name: 'pg_trgm', ensure: DatabaseSpecExtensionsEnsure.PRESENT, schema: 'public' }],
        },
      });
    }

    if (backup) {
      new ObjectStore(this, 'ObjectStore', {
        metadata: { name, namespace, labels },
        spec: {
          configuration: {
            destinationPath: backup.destinationPath,
            ...(backup.endpointURL ? { endpointUrl: backup.endpointURL } : {}),
            s3Credentials:
              backup.credentials === 'iam-role'
                ? { inheritFromIamRole: true }
                : {
                    accessKeyId: { name: secrets.use('postgres-backup', namespace), key: SECRET_KEY.accessKeyId },
                    secretAccessKey: { name: secrets.use('postgres-backup', namespace), key: SECRET_KEY.secretAccessKey },
                  },
            wal: { compression: ObjectStoreSpecConfigurationWalCompression.GZIP },
            data: { compression: ObjectStoreSpecConfigurationDataCompression.GZIP },
          },
          retentionPolicy: backup.retentionPolicy,
          instanceSidecarConfiguration: {
            resources: {
              requests: {
                cpu: ObjectStoreSpecInstanceSidecarConfigurationResourcesRequests.fromString(BARMAN_CLOUD_SIDECAR_RESOURCES.requests.cpu),
                memory: ObjectStoreSpecInstanceSidecarConfigurationResourcesRequests.fromString(
                  BARMAN_CLOUD_SIDECAR_RESOURCES.requests.memory,
                ),
              },
              limits: {
                memory: ObjectStoreSpecInstanceSidecarConfigurationResourcesLimits.fromString(BARMAN_CLOUD_SIDECAR_RESOURCES.limits.memory),
              },
            },
          },
        },
      });
      new ScheduledBackup(this, 'ScheduledBackup', {
        metadata: { name, namespace, labels },
        spec: {
          cluster: { name },
          schedule: backup.schedule,
          method: ScheduledBackupSpecMethod.PLUGIN,
          pluginConfiguration: { name: BARMAN_CLOUD_PLUGIN },
          // A first backup right away, so that a new cluster is recoverable before the schedule.
          immediate: true,
          backupOwnerReference: ScheduledBackupSpecBackupOwnerReference.SELF,
        },
      });
    }

    // Out of the mesh: a NetworkPolicy only. Egress stays open: the instances talk to the API
    // server and, with backups, to the object store.
    this.access = new ServerAccess(this, 'Access', {
      name,
      namespace,
      labels,
      podSelector,
      port: PORT,
      mesh: props.mesh,
      inMesh: false,
      restrictEgress: false,
    });
    this.access.networkPolicy.allowIngress({ namespace: CLOUDNATIVE_PG_NAMESPACE }, [STATUS_PORT]);
    this.access.networkPolicy.allowIngress({ namespace, podSelector }, [PORT, STATUS_PORT]);

    this.relate({
      host: this.host,
      port: PORT,
      sslMode: this.sslMode,
      secrets,
      admit: (client) => this.access.admit(client),
      egress: this.access.egressRule('postgres'),
    });
  }
}
