import type { RedisName } from './catalog';
import type { DataClient, EgressRule } from './data-client';
import { redisSecretId, SECRET_KEY } from './secret-catalog';
import type { PrefectSecrets } from './secrets';

/** One of the three Redis instances, whatever runs it (in the cluster or a managed service). */
export interface RedisServer {
  readonly instance: RedisName;
  readonly host: string;
  readonly port: number;
  /** Clients speak TLS to the server (a managed service); in the cluster the mesh encrypts. */
  readonly tls: boolean;
  /**
   * Lets `client` use the instance: `REDIS_<INSTANCE>_{HOST,PORT,PASSWORD,URL}`, the client's
   * egress, and the server's NetworkPolicy and AuthorizationPolicy (or ServiceEntry). Throws
   * when the client already has them.
   */
  allowFrom(client: DataClient): void;
}

/** The prefix of an instance's environment variables, e.g. "REDIS_CACHE". */
export function redisEnvPrefix(instance: RedisName): string {
  return `REDIS_${instance.toUpperCase()}`;
}

export interface RedisAccessProps {
  readonly instance: RedisName;
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly secrets: PrefectSecrets;
  readonly admit: (client: DataClient) => void;
  readonly egress: EgressRule;
}

/**
 * The client side of a Redis relation. The application user is Redis's "default" user, so the
 * URL carries only the password (`redis://:<password>@host:port/0`), composed in the pod with
 * `$(VAR)` expansion; the password must be URL-safe.
 */
export class RedisAccess {
  constructor(private readonly props: RedisAccessProps) {}

  public allowFrom(client: DataClient): void {
    const { instance, host, port, tls, secrets } = this.props;
    const prefix = redisEnvPrefix(instance);
    const v = (suffix: string) => `$(${prefix}_${suffix})`;
    client.addEnv(`${prefix}_HOST`, { value: host });
    client.addEnv(`${prefix}_PORT`, { value: String(port) });
    client.addEnv(`${prefix}_PASSWORD`, { secretKeyRef: secrets.keyRef(redisSecretId(instance), SECRET_KEY.password, client.namespace) });
    client.addEnv(`${prefix}_URL`, { value: `${tls ? 'rediss' : 'redis'}://:${v('PASSWORD')}@${v('HOST')}:${v('PORT')}/0` });
    client.addEgress(this.props.egress);
    this.props.admit(client);
  }
}
