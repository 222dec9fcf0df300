import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import type { DatabaseName } from '../../catalog/services';
import type { LabelsFor } from '../../core/labels';
import { toResourceRequirements } from '../../core/resources';
import { FLUX_PRUNE_DISABLED } from '../../flux/annotations';
import { ScheduledJob } from '../../flux/scheduled-job';
import type { Mesh } from '../../mesh/identity';
import { POSTGRES_USER } from './postgres';
import { SUPERUSER_ENV_PREFIX, type PostgresServer } from './postgres-access';

/** Where the volume of backups is mounted in the backup Job (its BACKUP_DIR). */
export const BACKUP_DIR = '/backups';
/** A complete backup's folder name: its UTC start time, e.g. 20261203T030000Z (an ERE, for the script's grep too). */
const BACKUP_NAME_PATTERN = '^[0-9]{8}T[0-9]{6}Z$';
export const BACKUP_NAME = new RegExp(BACKUP_NAME_PATTERN);

export interface LogicalBackupProps {
  readonly postgres: PostgresServer;
  readonly databases: readonly DatabaseName[];
  readonly namespace: string;
  /** The official `postgres` image, whose pg_dump is at least the server's version. */
  readonly image: string;
  readonly version: string;
  readonly labelsFor: LabelsFor;
  readonly mesh: Mesh;
  readonly schedule: string;
  /** Complete backups kept: the oldest beyond it is deleted once a new one is complete. */
  readonly keep: number;
  readonly storage: { readonly size: string; readonly storageClass?: string };
}

/**
 * Logical backups of every database: a CronJob that runs pg_dump (custom format) for each
 * database, and pg_dumpall for the roles and their memberships (without passwords, which the
 * Secrets hold), into a folder named after its UTC start time on a volume of its own; a backup
 * is written under `.partial-…` and renamed when complete, and the `keep` newest complete ones
 * are kept. The volume is never pruned by Flux. README, "Backups and restore".
 */
export class LogicalBackup extends Construct {
  public readonly job: ScheduledJob;
  public readonly claimName: string;

  constructor(scope: Construct, id: string, props: LogicalBackupProps) {
    super(scope, id);
    const name = 'postgres-backup';
    const labels = props.labelsFor({ name, component: 'database-backup' });
    this.claimName = name;
    new k8s.KubePersistentVolumeClaim(this, 'Volume', {
      metadata: { name, namespace: props.namespace, labels, annotations: { ...FLUX_PRUNE_DISABLED } },
      spec: {
        accessModes: ['ReadWriteOnce'],
        ...(props.storage.storageClass ? { storageClassName: props.storage.storageClass } : {}),
        resources: { requests: { storage: k8s.Quantity.fromString(props.storage.size) } },
      },
    });
    this.job = new ScheduledJob(this, 'Job', {
      baseName: name,
      namespace: props.namespace,
      labels,
      version: props.version,
      mesh: props.mesh,
      connect: (client) => props.postgres.grantSuperuser(client),
      runAs: POSTGRES_USER,
      volumes: [{ name: 'backups', persistentVolumeClaim: { claimName: name } }],
      container: {
        name: 'backup',
        image: props.image,
        command: ['/bin/sh', '-c', backupScript(props.databases)],
        env: [
          { name: 'BACKUP_DIR', value: BACKUP_DIR },
          { name: 'BACKUP_KEEP', value: String(props.keep) },
        ],
        volumeMounts: [{ name: 'backups', mountPath: BACKUP_DIR }],
        resources: toResourceRequirements({ requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } }),
      },
      schedule: props.schedule,
      backoffLimit: 2,
      activeDeadlineSeconds: 6 * 3600,
    });
  }
}

/**
 * The backup Job's script: POSIX sh with the postgres image's pg_dump and pg_dumpall, run with
 * the superuser's environment from `grantSuperuser`, BACKUP_DIR and BACKUP_KEEP.
 */
export function backupScript(databases: readonly DatabaseName[]): string {
  const su = SUPERUSER_ENV_PREFIX;
  const list = databases.join(' ');
  return `set -eu
export PGHOST="$${su}_HOST" PGPORT="$${su}_PORT" PGUSER="$${su}_USER" PGPASSWORD="$${su}_PASSWORD" PGSSLMODE="$${su}_SSLMODE"
export PGCONNECT_TIMEOUT=10 PGAPPNAME=prefect-cdk8s-backup
umask 077
stamp=$(date -u +%Y%m%dT%H%M%SZ)
partial="$BACKUP_DIR/.partial-$stamp"
# A run that was stopped left its partial folder: never a backup.
rm -rf "$BACKUP_DIR"/.partial-*
mkdir "$partial"
for database in ${list}; do
  pg_dump --no-password --format=custom --compress=6 --dbname="$database" --file="$partial/$database.dump"
done
# Roles and memberships, not passwords: the Secrets hold those, and the init Jobs set them.
pg_dumpall --no-password --globals-only --no-role-passwords --file="$partial/globals.sql"
printf '%s\\n' ${list} > "$partial/DATABASES"
mv "$partial" "$BACKUP_DIR/$stamp"
# The newest BACKUP_KEEP complete backups stay.
ls -1 "$BACKUP_DIR" | grep -E '${BACKUP_NAME_PATTERN}' | sort -r | tail -n "+$((BACKUP_KEEP + 1))" | while read -r old; do
  rm -rf "\${BACKUP_DIR:?}/$old"
done
echo "backup $stamp complete: ${list}; kept: $(ls -1 "$BACKUP_DIR" | grep -cE '${BACKUP_NAME_PATTERN}')"
`;
}

/** The commands that restore one backup into a server whose init Jobs have run: README, "Backups and restore". */
export function restoreCommands(databases: readonly DatabaseName[], backup: string): string[] {
  return databases.map(
    (database) =>
      `pg_restore --no-password --clean --if-exists --no-owner --exit-on-error --dbname=${database} "${backup}/${database}.dump"`,
  );
}
