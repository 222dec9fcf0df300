import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import type { DatabaseName } from './catalog';
import { contentHash } from './content-hash';
import { RecordingDataClient, toEnvVars } from './data-client';
import { JOB_TTL_EXEMPTION, NATIVE_SIDECAR_ANNOTATION } from './database-init-job';
import { FLUX_FORCE_REPLACE } from './flux-annotations';
import { exemptions } from './policy-exemptions';
import { databaseEnvPrefix, SUPERUSER_ENV_PREFIX, type PostgresServer } from './postgres-access';
import { PREFECT_USER } from './prefect-service';
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from './pod-security';
import { selectorFor } from './selector';
import { sidecarAnnotations } from './sidecar';
import { WorkloadNetworkPolicy } from './workload-network-policy';

/**
 * ASSUMPTION (not in Prefect's public docs): the server image migrates one database with
 * `prefect-cloud migrate <database>`, reading MIGRATION_DATABASE_URL. Check it against the
 * release in use; `prefect.migrations` can override the command.
 */
export const DEFAULT_MIGRATION_COMMAND: readonly string[] = ['prefect-cloud', 'migrate'];

export interface MigrationJobProps {
  readonly postgres: PostgresServer;
  readonly database: DatabaseName;
  /**
   * The data namespace: the superuser Secret never leaves it, so the Job runs there.
   */
  readonly namespace: string;
  /** The server image, e.g. "registry.example.com/prefect/cloud/server:2026.11.1". */
  readonly image: string;
  /** @default - no pull secret */
  readonly imagePullSecret?: string;
  /** @default DEFAULT_MIGRATION_COMMAND followed by the database's name */
  readonly command?: readonly string[];
  readonly labels: Record<string, string>;
  readonly istioNamespace: string;
}

/**
 * Migrates one database's schema to the release's version, as the superuser (a service user
 * runs the services, a superuser runs migrations). Idempotent: a migration tool applies only
 * what is missing. Like the init Jobs it is named after a hash of its pod template (a new
 * image tag is a new Job), carries Flux's force annotation, keeps no TTL, and runs with a native
 * sidecar so that it has a mesh identity and still completes under STRICT mTLS.
 */
export class MigrationJob extends Construct {
  public readonly baseName: string;
  public readonly jobName: string;
  public readonly job: k8s.KubeJob;
  public readonly client: RecordingDataClient;

  constructor(scope: Construct, id: string, props: MigrationJobProps) {
    super(scope, id);
    const { database, namespace, labels } = props;
    const baseName = `migrate-${database}`;
    this.baseName = baseName;
    this.client = new RecordingDataClient(baseName, namespace, selectorFor(labels), baseName);
    props.postgres.grantSuperuser(this.client);
    props.postgres.grantDatabase(this.client, database);
    // The superuser, connected to this database: the tool creates objects that the database's
    // role owns (it owns the database), so the services' role can use them.
    const su = SUPERUSER_ENV_PREFIX;
    const tls = props.postgres.sslMode === 'disable' ? '' : `?ssl=${props.postgres.sslMode}`;
    this.client.addEnv('MIGRATION_DATABASE_URL', {
      value: `postgresql+asyncpg://$(${su}_USER):$(${su}_PASSWORD)@$(${su}_HOST):$(${su}_PORT)/$(${databaseEnvPrefix(database)}_NAME)${tls}`,
    });

    const template: k8s.PodTemplateSpec = {
      metadata: { labels, annotations: { ...sidecarAnnotations(0), ...NATIVE_SIDECAR_ANNOTATION } },
      spec: {
        serviceAccountName: baseName,
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        restartPolicy: 'Never',
        securityContext: restrictedPodSecurityContext(PREFECT_USER),
        ...(props.imagePullSecret ? { imagePullSecrets: [{ name: props.imagePullSecret }] } : {}),
        containers: [
          {
            name: 'migrate',
            image: props.image,
            imagePullPolicy: 'IfNotPresent',
            command: [...(props.command ?? [...DEFAULT_MIGRATION_COMMAND, database])],
            env: toEnvVars(this.client.env),
            resources: {
              requests: { cpu: k8s.Quantity.fromString('250m'), memory: k8s.Quantity.fromString('512Mi') },
              limits: { memory: k8s.Quantity.fromString('1Gi') },
            },
            securityContext: restrictedContainerSecurityContext(PREFECT_USER),
            volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
          },
        ],
        volumes: [{ name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('256Mi') } }],
      },
    };
    this.jobName = `${baseName}-${contentHash(k8s.toJson_PodTemplateSpec(template), 10)}`;

    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: { name: baseName, namespace, labels }, automountServiceAccountToken: false });
    this.job = new k8s.KubeJob(this, 'Resource', {
      metadata: {
        name: this.jobName,
        namespace,
        labels,
        annotations: { ...FLUX_FORCE_REPLACE, ...exemptions({ 'job-ttl-seconds-after-finished': JOB_TTL_EXEMPTION }) },
      },
      spec: {
        // Retries cover a server restart; a failing migration stops the layer (Flux `wait`), so
        // the services never roll out onto a half-migrated database.
        backoffLimit: 3,
        activeDeadlineSeconds: 1800,
        template,
      },
    });

    const policy = new WorkloadNetworkPolicy(this, 'NetworkPolicy', { name: baseName, namespace, labels, podSelector: this.client.selectorLabels, istioNamespace: props.istioNamespace });
    for (const rule of this.client.egress) policy.allowEgress(rule);
  }
}
