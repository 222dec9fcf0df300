import type { Construct } from 'constructs';
import type { LabelsFor } from '../../core/labels';
import { ExternalServiceEntry } from '../../mesh/external-service-entry';
import { PostgresRelations, type SslMode } from './postgres-access';
import type { PrefectSecrets } from '../secrets/secrets';

export interface ExternalPostgresProps {
  /** The managed service's DNS name. */
  readonly host: string;
  readonly port: number;
  readonly sslMode: SslMode;
  /** A Secret with the server's CA under `ca.crt`, in every client's namespace (PostgresAccessProps). */
  readonly caSecret?: string;
  /** Where the ServiceEntry lives (it is exported to the clients' namespaces). */
  readonly namespace: string;
  readonly secrets: PrefectSecrets;
  readonly labelsFor: LabelsFor;
}

/**
 * A managed PostgreSQL outside the cluster (RDS, Cloud SQL, Azure Database …): no server here,
 * only the mesh's entry for its host. The init Jobs still create the databases and roles on it,
 * with its administrator as the superuser Secret; TLS is what `sslMode` asks for.
 */
export class ExternalPostgres extends PostgresRelations {
  public readonly host: string;
  public readonly port: number;
  public readonly sslMode: SslMode;
  public readonly serviceEntry: ExternalServiceEntry;

  constructor(scope: Construct, id: string, props: ExternalPostgresProps) {
    super(scope, id);
    this.host = props.host;
    this.port = props.port;
    this.sslMode = props.sslMode;
    const name = 'postgres-external';
    this.serviceEntry = new ExternalServiceEntry(this, 'ServiceEntry', {
      name,
      namespace: props.namespace,
      labels: props.labelsFor({ name, component: 'database' }),
      host: props.host,
      port: props.port,
      portName: 'tcp-postgres',
    });
    this.relate({
      host: props.host,
      port: props.port,
      sslMode: props.sslMode,
      caSecret: props.caSecret,
      secrets: props.secrets,
      admit: (client) => this.serviceEntry.exportTo(client.namespace),
      // Outside the cluster: no pods to select, only the port.
      egress: { purpose: 'postgres', port: props.port },
    });
  }
}
