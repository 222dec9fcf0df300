import { Construct } from 'constructs';
import type { RedisName, RedisRole } from '../../catalog/services';
import { ClientRelation, type ClientRelationProps } from '../client-relation';
import type { DataClient } from '../../core/data-client';
import { redisSecretId, SECRET_KEY } from '../../catalog/secrets';

/** One of the three Redis instances, whatever runs it (in the cluster or a managed service). */
export interface RedisServer {
  readonly instance: RedisName;
  readonly host: string;
  readonly port: number;
  /** Clients speak TLS to the server (a managed service); in the cluster the mesh encrypts. */
  readonly tls: boolean;
  /**
   * Lets `client` use the instance in `role` (its own by default): `REDIS_<ROLE>_{HOST,PORT,PASSWORD,URL}`,
   * the client's egress, and the server's NetworkPolicy and AuthorizationPolicy (or ServiceEntry).
   * Throws when the client already has that role; a second role on the same instance adds only
   * its variables.
   */
  allowFrom(client: DataClient, role?: RedisRole): void;
  /**
   * Lets `client` reach the instance, with no credentials of its own: KEDA's operator, which reads
   * a consumer group's lag with the password of the ScaledObject's TriggerAuthentication. Only the
   * server's policies and the client's egress.
   */
  admitScaler(client: DataClient): void;
}

/** The prefix of a role's environment variables, e.g. "REDIS_CACHE" or "REDIS_CONCURRENCY_LEASES". */
export function redisEnvPrefix(role: RedisRole): string {
  return `REDIS_${role.toUpperCase().replace(/-/g, '_')}`;
}

export interface RedisAccessProps extends ClientRelationProps {
  readonly instance: RedisName;
  readonly tls: boolean;
}

/**
 * The client side of a Redis relation. The application user is Redis's "default" user, so the
 * URL carries only the password (`redis://:<password>@host:port/0`), composed in the pod with
 * `$(VAR)` expansion; the password must be URL-safe.
 */
export class RedisAccess extends ClientRelation<RedisAccessProps> {
  public allowFrom(client: DataClient, role: RedisRole = this.props.instance): void {
    const { instance, tls, secrets } = this.props;
    const prefix = redisEnvPrefix(role);
    const v = (suffix: string) => `$(${prefix}_${suffix})`;
    this.addAddress(client, prefix);
    client.addEnv(`${prefix}_PASSWORD`, { secretKeyRef: secrets.keyRef(redisSecretId(instance), SECRET_KEY.password, client.namespace) });
    client.addEnv(`${prefix}_URL`, { value: `${tls ? 'rediss' : 'redis'}://:${v('PASSWORD')}@${v('HOST')}:${v('PORT')}/0` });
    this.connect(client);
  }

  public admitScaler(client: DataClient): void {
    this.connect(client);
  }
}

/**
 * A Redis provider's construct: its relation is RedisAccess's, set up by the subclass once it
 * knows its address and policies.
 */
export abstract class RedisRelations extends Construct implements RedisServer {
  public abstract readonly instance: RedisName;
  public abstract readonly host: string;
  public abstract readonly port: number;
  public abstract readonly tls: boolean;
  private relations?: RedisAccess;

  public allowFrom(client: DataClient, role?: RedisRole): void {
    if (!this.relations) throw new Error(`${this.node.path}: the server's relations are not set up (its constructor must call relate)`);
    this.relations.allowFrom(client, role);
  }

  public admitScaler(client: DataClient): void {
    if (!this.relations) throw new Error(`${this.node.path}: the server's relations are not set up (its constructor must call relate)`);
    this.relations.admitScaler(client);
  }

  /** Called once by the subclass's constructor, with the server's side of the relation. */
  protected relate(props: RedisAccessProps): void {
    this.relations = new RedisAccess(props);
  }
}
