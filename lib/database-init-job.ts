import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import type { LayerChart } from './charts/layer-chart';
import type { DatabaseName } from './catalog';
import { contentHash } from './content-hash';
import { RecordingDataClient, type EnvValue } from './data-client';
import { FLUX_FORCE_REPLACE } from './flux-annotations';
import { exemptions } from './policy-exemptions';
import { restrictedContainerSecurityContext, restrictedPodSecurityContext } from './pod-security';
import { databaseEnvPrefix, SUPERUSER_ENV_PREFIX, type PostgresServer } from './postgres-access';
import { POSTGRES_USER } from './postgres';
import { selectorFor } from './selector';
import { sidecarAnnotations } from './sidecar';
import { WorkloadNetworkPolicy } from './workload-network-policy';

/**
 * How a Job's pod completes under Istio STRICT mTLS. Chosen: a native sidecar (an init
 * container that keeps running, which Kubernetes stops when the Job's container exits).
 * The alternative, opting the pod out of the mesh and opening 5432 with a PERMISSIVE
 * PeerAuthentication, would send `ALTER ROLE … PASSWORD` in clear text across the pod network
 * and leave the server admitting connections that carry no identity; with the sidecar, the Job
 * has its own mesh identity (its service account), which the server's AuthorizationPolicy
 * allows like any other client. Needs Kubernetes 1.29+ (sidecar containers) and Istio 1.20+;
 * Istio enables native sidecars by default where it can, and this annotation asks for them
 * whatever the mesh-wide setting.
 */
export const NATIVE_SIDECAR_ANNOTATION = { 'sidecar.istio.io/nativeSidecar': 'true' } as const;

/** Why the Job has no ttlSecondsAfterFinished (for the policy suite and for readers). */
export const JOB_TTL_EXEMPTION =
  'Flux re-applies dist/: a TTL would delete the finished Job and Flux would create and run it again. The name carries a hash of the pod template, so a changed Job is a new Job';

/** Seconds the Job waits for the server to accept connections. */
const WAIT_SECONDS = 300;
/** Where the Job finds the external server's CA certificate. */
const CA_DIR = '/etc/postgresql-ca';

export interface DatabaseInitJobProps {
  readonly postgres: PostgresServer;
  readonly database: DatabaseName;
  readonly namespace: string;
  /** The image whose psql runs the script: the official `postgres` image. */
  readonly image: string;
  /** The version label of the Job's objects. */
  readonly version: string;
  readonly labelsFor: LayerChart['labelsFor'];
  readonly istioNamespace: string;
  /**
   * A Secret with the server's CA certificate under `ca.crt`, for sslmode verify-ca and
   * verify-full against an external server.
   * @default - the system CA bundle (verify-full only)
   */
  readonly caSecret?: string;
}

/**
 * Creates one database, its login role and its extensions, idempotently, as the superuser:
 * `CREATE … \gexec` guards, the role's password (re)set from its Secret on every run, the
 * database owned by its role, CONNECT revoked from PUBLIC, pg_trgm, and nothing granted on any
 * other database. The Job is named after a hash of its pod template and Flux replaces it when
 * that changes; it has no TTL, so Flux does not run it again once it has succeeded.
 */
export class DatabaseInitJob extends Construct {
  /** "postgres-init-<database>", without the hash: the name of the service account and policy. */
  public readonly baseName: string;
  /** The Job's name: the base name and a hash of the whole pod template. */
  public readonly jobName: string;
  public readonly job: k8s.KubeJob;
  public readonly client: RecordingDataClient;

  constructor(scope: Construct, id: string, props: DatabaseInitJobProps) {
    super(scope, id);
    const { database, namespace } = props;
    const baseName = `postgres-init-${database}`;
    this.baseName = baseName;
    const labels = props.labelsFor({ name: baseName, component: 'database-init', version: props.version });

    // The Job is a client like any service: the relations give it its environment, its egress
    // and its place in the server's policies.
    this.client = new RecordingDataClient(baseName, namespace, selectorFor(labels), baseName);
    props.postgres.grantSuperuser(this.client);
    props.postgres.grantDatabase(this.client, database);

    const sslMode = props.postgres.sslMode;
    const verifies = sslMode === 'verify-ca' || sslMode === 'verify-full';
    if (sslMode === 'verify-ca' && props.caSecret === undefined) {
      throw new Error(`${baseName}: sslmode verify-ca needs the server's CA certificate (postgres.external.caSecret)`);
    }
    const extraEnv: k8s.EnvVar[] = verifies ? [{ name: 'PGSSLROOTCERT', value: props.caSecret ? `${CA_DIR}/ca.crt` : 'system' }] : [];

    const template: k8s.PodTemplateSpec = {
      metadata: { labels, annotations: { ...sidecarAnnotations(0), ...NATIVE_SIDECAR_ANNOTATION } },
      spec: {
        serviceAccountName: baseName,
        automountServiceAccountToken: false,
        enableServiceLinks: false,
        restartPolicy: 'Never',
        securityContext: restrictedPodSecurityContext(POSTGRES_USER),
        containers: [
          {
            name: 'init',
            image: props.image,
            imagePullPolicy: 'IfNotPresent',
            command: ['/bin/sh', '-c', initScript(database)],
            env: [...toEnvVars(this.client.env), ...extraEnv],
            resources: {
              requests: { cpu: k8s.Quantity.fromString('50m'), memory: k8s.Quantity.fromString('64Mi') },
              limits: { memory: k8s.Quantity.fromString('128Mi') },
            },
            securityContext: restrictedContainerSecurityContext(POSTGRES_USER),
            ...(props.caSecret ? { volumeMounts: [{ name: 'ca', mountPath: CA_DIR, readOnly: true }] } : {}),
          },
        ],
        ...(props.caSecret ? { volumes: [{ name: 'ca', secret: { secretName: props.caSecret, items: [{ key: 'ca.crt', path: 'ca.crt' }], defaultMode: 0o444 } }] } : {}),
      },
    };
    this.jobName = `${baseName}-${contentHash(k8s.toJson_PodTemplateSpec(template), 10)}`;

    new k8s.KubeServiceAccount(this, 'ServiceAccount', { metadata: { name: baseName, namespace, labels }, automountServiceAccountToken: false });
    this.job = new k8s.KubeJob(this, 'Resource', {
      metadata: {
        name: this.jobName,
        namespace,
        labels,
        annotations: {
          ...FLUX_FORCE_REPLACE,
          ...exemptions({ 'job-ttl-seconds-after-finished': JOB_TTL_EXEMPTION }),
        },
      },
      spec: {
        // The script waits for the server itself; retries cover a server restarting meanwhile.
        backoffLimit: 4,
        activeDeadlineSeconds: WAIT_SECONDS * 3,
        template,
      },
    });

    const policy = new WorkloadNetworkPolicy(this, 'NetworkPolicy', {
      name: baseName,
      namespace,
      labels,
      podSelector: this.client.selectorLabels,
      istioNamespace: props.istioNamespace,
    });
    for (const rule of this.client.egress) policy.allowEgress(rule);
  }
}

function toEnvVars(env: ReadonlyMap<string, EnvValue>): k8s.EnvVar[] {
  return [...env].map(([name, value]) =>
    'value' in value ? { name, value: value.value } : { name, valueFrom: { secretKeyRef: { name: value.secretKeyRef.name, key: value.secretKeyRef.key } } },
  );
}

/**
 * The Job's script: POSIX sh and psql 15+ (`\getenv`), run with the environment that
 * `grantSuperuser` and `grantDatabase` give the Job. Values reach SQL only through psql's
 * quoting (`:'literal'`, `:"identifier"`), never through the shell.
 */
export function initScript(database: DatabaseName): string {
  const db = databaseEnvPrefix(database);
  const su = SUPERUSER_ENV_PREFIX;
  const attempts = WAIT_SECONDS / 2;
  return `set -eu
: "\${${db}_PASSWORD:?is empty: set the key password of the database's Secret}"
export PGHOST="$${su}_HOST" PGPORT="$${su}_PORT" PGUSER="$${su}_USER" PGPASSWORD="$${su}_PASSWORD" PGSSLMODE="$${su}_SSLMODE"
export PGDATABASE=postgres PGCONNECT_TIMEOUT=10 PGAPPNAME=prefect-cdk8s-init PGOPTIONS='-c client_min_messages=warning'
# The Job can start before the server accepts connections (first start, restart, DNS).
attempt=0
until pg_isready --quiet; do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge ${attempts} ]; then
    echo "PostgreSQL at $PGHOST:$PGPORT did not accept connections within ${WAIT_SECONDS} s" >&2
    exit 1
  fi
  sleep 2
done
psql --no-psqlrc --quiet --set=ON_ERROR_STOP=1 --file=- <<'SQL'
\\getenv database ${db}_NAME
\\getenv role ${db}_USER
\\getenv password ${db}_PASSWORD
-- A superuser keeps the password below out of the server log, even if a statement fails. (A
-- managed service's administrator may not change these; its log settings are its own.)
SELECT 'SET log_statement = none', 'SET log_min_error_statement = panic' FROM pg_catalog.pg_roles WHERE rolname = current_user AND rolsuper
\\gexec
SET password_encryption = 'scram-sha-256';
-- One login role per database, with no other power; its password follows the Secret.
SELECT format('CREATE ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS', :'role') WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = :'role')
\\gexec
-- Powers added by hand are taken back (only a superuser can have added them, or remove them).
SELECT format('ALTER ROLE %I WITH NOSUPERUSER NOREPLICATION NOBYPASSRLS', rolname) FROM pg_catalog.pg_roles WHERE rolname = :'role' AND (rolsuper OR rolreplication OR rolbypassrls)
\\gexec
ALTER ROLE :"role" WITH LOGIN NOCREATEDB NOCREATEROLE INHERIT CONNECTION LIMIT -1 PASSWORD :'password';
-- An administrator that is not a superuser (a managed service's) must be able to act as the role
-- to create a database owned by it.
SELECT format('GRANT %I TO %I', :'role', current_user) WHERE NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) AND NOT pg_catalog.pg_has_role(current_user, :'role', 'USAGE')
\\gexec
SELECT format('CREATE DATABASE %I WITH OWNER = %I TEMPLATE = template0 ENCODING = %L', :'database', :'role', 'UTF8') WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = :'database')
\\gexec
ALTER DATABASE :"database" OWNER TO :"role";
-- Only the owner (and superusers) may connect; no other role gets anything here.
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
\\connect :"database"
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
SQL
echo "database ${database}: ready (owner ${database}, pg_trgm)"
`;
}
