import type { Construct } from 'constructs';
import type { LabelsFor } from '../../core/labels';
import type { RedisName } from '../../catalog/services';
import { ExternalServiceEntry } from '../../mesh/external-service-entry';
import { RedisRelations } from './redis-access';
import type { PrefectSecrets } from '../secrets/secrets';

export interface ExternalRedisProps {
  readonly instance: RedisName;
  /** The managed service's DNS name. */
  readonly host: string;
  readonly port: number;
  /** Clients connect with TLS (`rediss://`). */
  readonly tls: boolean;
  readonly namespace: string;
  readonly secrets: PrefectSecrets;
  readonly labelsFor: LabelsFor;
}

/**
 * A managed Redis outside the cluster (ElastiCache, Memorystore, Azure Cache …) for one
 * instance: no server here, only the mesh's entry for its host. Its password (the Secret's
 * `password` key) is the service's AUTH token; its persistence and eviction are configured
 * there: noeviction for work and streams, allkeys-lru for the cache.
 */
export class ExternalRedis extends RedisRelations {
  public readonly instance: RedisName;
  public readonly host: string;
  public readonly port: number;
  public readonly tls: boolean;
  public readonly serviceEntry: ExternalServiceEntry;

  constructor(scope: Construct, id: string, props: ExternalRedisProps) {
    super(scope, id);
    this.instance = props.instance;
    this.host = props.host;
    this.port = props.port;
    this.tls = props.tls;
    const name = `redis-${props.instance}-external`;
    this.serviceEntry = new ExternalServiceEntry(this, 'ServiceEntry', {
      name,
      namespace: props.namespace,
      labels: props.labelsFor({ name, component: props.instance === 'cache' ? 'cache' : 'queue' }),
      host: props.host,
      port: props.port,
      portName: 'tcp-redis',
    });
    this.relate({
      instance: props.instance,
      host: props.host,
      port: props.port,
      tls: props.tls,
      secrets: props.secrets,
      admit: (client) => this.serviceEntry.exportTo(client.namespace),
      egress: { purpose: name, port: props.port },
    });
  }
}
