import type { DataClient, EgressRule } from '../core/data-client';
import type { PrefectSecrets } from './secrets/secrets';

/** Where a data server is and how a client is let in, whatever runs the server. */
export interface ClientRelationProps {
  readonly host: string;
  readonly port: number;
  readonly secrets: PrefectSecrets;
  /** The server side of a relation: its NetworkPolicy, AuthorizationPolicy or ServiceEntry. */
  readonly admit: (client: DataClient) => void;
  /** What the client's NetworkPolicy must allow. */
  readonly egress: EgressRule;
}

/**
 * The client side of a relation with a data server (PostgresAccess, RedisAccess): environment
 * variables built from Secret references (never values), composed in the pod with `$(VAR)`
 * expansion, and both sides' policies opened.
 */
export abstract class ClientRelation<Props extends ClientRelationProps> {
  constructor(protected readonly props: Props) {}

  /** `<prefix>_HOST` and `<prefix>_PORT`. */
  protected addAddress(client: DataClient, prefix: string): void {
    client.addEnv(`${prefix}_HOST`, { value: this.props.host });
    client.addEnv(`${prefix}_PORT`, { value: String(this.props.port) });
  }

  /** The client's egress to the server, and the server's admission of the client. */
  protected connect(client: DataClient): void {
    client.addEgress(this.props.egress);
    this.props.admit(client);
  }
}
