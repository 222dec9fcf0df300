import { Construct } from 'constructs';
import {
  Gateway,
  GatewaySpecServersTlsMinProtocolVersion,
  GatewaySpecServersTlsMode,
  type GatewaySpecServers,
  VirtualService,
} from '../../imports/istio-networking.istio.io';
import { HostRoutes } from './routes/host-routes';
import type { TlsTermination } from './load-balancer';
import { DEFAULT_TRUST_DOMAIN, meshPrincipal } from '../mesh/identity';
import { escapeRegex, type ResolvedRoute } from './routes/routes';
import type { DataClient } from '../core/data-client';

/** Where cert-manager's HTTP-01 solver answers Let's Encrypt (RFC 8555, section 8.3). */
export const ACME_CHALLENGE_PATH = '/.well-known/acme-challenge/';

export interface PrefectGatewayProps {
  /** The Istio Gateway's namespace: that of the gateway pods, where the TLS Secret is. */
  readonly namespace: string;
  /** Pod labels of the ingress gateway deployment. */
  readonly selector: Record<string, string>;
  /** The gateway pods' service account: the identity that calls the routed services. */
  readonly serviceAccountName: string;
  /** Every public hostname. */
  readonly hostnames: readonly string[];
  /**
   * Where TLS ends (lib/edge/load-balancer.ts): `gateway` (HTTPS on 443 with `credentialName`, 80
   * redirects), `load-balancer` (the load balancer ends TLS and forwards 443 as plain HTTP to
   * port 443; 80 redirects), `http-proxy` (a proxy in front forwards HTTP to port 80).
   */
  readonly tlsTermination: TlsTermination;
  /** `gateway`: the `kubernetes.io/tls` Secret, in `namespace`, for all hostnames. */
  readonly credentialName?: string;
  /**
   * `gateway`: Let's Encrypt's HTTP-01 challenges arrive on port 80 and must not be redirected.
   * @default false
   */
  readonly acmeHttp01?: boolean;
  /**
   * The mesh's trust domain, in which the gateway's identity is named.
   * @default 'cluster.local'
   */
  readonly trustDomain?: string;
  /** Recommended labels for an object named `name` with role `component`. */
  readonly labelsFor: (name: string, component: string) => Record<string, string>;
}

/**
 * The Istio Gateway of the installation, bound to the ingress gateway pods.
 *
 * TLS at the gateway: the Gateway `prefect` serves HTTPS on 443 (TLS 1.2 or newer) for all
 * hostnames from one server with one certificate: separate servers sharing a certificate make
 * browsers that reuse HTTP/2 connections across hostnames receive 404s. The Gateway
 * `prefect-http-redirect` serves port 80 and sends clients to HTTPS.
 *
 * With ACME HTTP-01 the redirect must spare `/.well-known/acme-challenge/`: the challenge is
 * answered over plain HTTP, on routes istiod generates from cert-manager's solver Ingress. A
 * server-level `httpsRedirect` would apply to those routes too (the challenge fails with a
 * 301; istio/istio#33593), so port 80 has no `httpsRedirect` and a VirtualService redirects
 * every path except the challenge path instead. Istio routes have no "not" match, so that path
 * is excluded with a regex matching exactly the paths outside it; challenge requests fall
 * through to the solver's routes, whatever order istiod merges the two in.
 *
 * TLS at a TCP load balancer (an AWS NLB's TLS listener): the Gateway `prefect` serves the
 * decrypted stream of port 443 as plain HTTP, and `prefect-http-redirect` redirects port 80 as
 * above. Envoy would set X-Forwarded-Proto to "http" (its connection is plain), so the routes
 * set it to "https": only port 443 reaches them.
 *
 * TLS at an HTTP(S) proxy: the Gateway `prefect` serves HTTP on port 80 only; the proxy
 * redirects and sets X-Forwarded-Proto, which the gateway trusts from its trusted hops.
 */
export class PrefectGateway extends Construct {
  /** The Gateway the hostnames' VirtualServices bind to. */
  public readonly name = 'prefect';
  public readonly namespace: string;
  /** The SPIFFE identity of the gateway pods, as AuthorizationPolicy names it. */
  public readonly principal: string;
  public readonly tlsTermination: TlsTermination;
  public readonly resource: Gateway;
  private readonly labelsFor: (name: string, component: string) => Record<string, string>;
  /**
   * The gateway as a client of the services it routes to: its pods (by the gateway's selector) and
   * mesh identity, for the backends' `allowFrom`, which admits it in their NetworkPolicy and
   * AuthorizationPolicy at once. Its own egress is not restricted (its namespace has no
   * default-deny), so a relation adds nothing on its side.
   */
  public readonly client: DataClient;

  constructor(scope: Construct, id: string, props: PrefectGatewayProps) {
    super(scope, id);
    if (props.hostnames.length === 0) throw new Error('Gateway prefect: expected at least one hostname');
    const termination = props.tlsTermination;
    if (termination === 'gateway' && !props.credentialName) {
      throw new Error('Gateway prefect: TLS ends at the gateway and needs credentialName (the TLS Secret)');
    }
    if (termination !== 'gateway' && props.credentialName) {
      throw new Error(
        `Gateway prefect: TLS ends at the ${termination}, so the gateway serves no certificate; got credentialName ${props.credentialName}`,
      );
    }
    if (termination !== 'gateway' && props.acmeHttp01) {
      throw new Error(
        `Gateway prefect: ACME HTTP-01 needs TLS at the gateway (it ends at the ${termination}, which holds the certificate)`,
      );
    }
    this.namespace = props.namespace;
    this.labelsFor = props.labelsFor;
    this.tlsTermination = termination;
    const trustDomain = props.trustDomain ?? DEFAULT_TRUST_DOMAIN;
    this.principal = meshPrincipal(trustDomain, props.namespace, props.serviceAccountName);
    this.client = {
      name: 'ingress-gateway',
      namespace: props.namespace,
      selectorLabels: { ...props.selector },
      serviceAccountName: props.serviceAccountName,
      addEnv: () => {
        throw new Error('the ingress gateway takes no environment variables from a relation');
      },
      mountSecretFile: () => {
        throw new Error('the ingress gateway takes no files from a relation');
      },
      addEgress: () => {},
    };
    // `./host`: only VirtualServices in the Gateway's own namespace can claim these hostnames.
    const hosts = props.hostnames.map((hostname) => `./${hostname}`);
    const http = (tls?: GatewaySpecServers['tls']): GatewaySpecServers => ({
      name: 'http',
      port: { number: 80, name: 'http', protocol: 'HTTP' },
      hosts,
      ...(tls ? { tls } : {}),
    });

    const servers: GatewaySpecServers[] = {
      gateway: [
        {
          name: 'https',
          port: { number: 443, name: 'https', protocol: 'HTTPS' },
          hosts,
          tls: {
            mode: GatewaySpecServersTlsMode.SIMPLE,
            credentialName: props.credentialName,
            minProtocolVersion: GatewaySpecServersTlsMinProtocolVersion.TLSV1_UNDERSCORE_2,
          },
        },
      ],
      // Plain HTTP on the port the load balancer's TLS listener forwards to.
      'load-balancer': [{ name: 'https-terminated', port: { number: 443, name: 'http-terminated-tls', protocol: 'HTTP' }, hosts }],
      'http-proxy': [http()],
    }[termination];
    this.resource = new Gateway(this, 'Resource', {
      metadata: { name: this.name, namespace: props.namespace, labels: props.labelsFor(this.name, 'ingress') },
      spec: { selector: props.selector, servers },
    });

    if (termination !== 'http-proxy') {
      const redirectName = 'prefect-http-redirect';
      new Gateway(this, 'HttpRedirect', {
        metadata: { name: redirectName, namespace: props.namespace, labels: props.labelsFor(redirectName, 'ingress') },
        spec: { selector: props.selector, servers: [http(props.acmeHttp01 ? undefined : { httpsRedirect: true })] },
      });
      if (props.acmeHttp01) {
        new VirtualService(this, 'HttpRedirectRoutes', {
          metadata: { name: redirectName, namespace: props.namespace, labels: props.labelsFor(redirectName, 'ingress') },
          spec: {
            hosts: [...props.hostnames],
            gateways: [`${props.namespace}/${redirectName}`],
            exportTo: ['.'],
            http: [
              {
                name: 'https-redirect',
                match: [{ uri: { regex: pathsNotUnder(ACME_CHALLENGE_PATH) } }],
                redirect: { scheme: 'https', redirectCode: 301 },
              },
            ],
          },
        });
      }
    }
  }

  /** `namespace/name`, as a VirtualService refers to the Gateway. */
  public get reference(): string {
    return `${this.namespace}/${this.name}`;
  }

  /**
   * Routes `hostname` through this gateway with `routes` (all for that host, in order). The
   * backends let the gateway in themselves, with `allowFrom(gateway.client)`.
   */
  public addHost(
    id: string,
    props: {
      readonly name: string;
      readonly hostname: string;
      readonly routes: readonly ResolvedRoute[];
      readonly backendNamespace: string;
      readonly backendSelector: (service: string) => Record<string, string>;
      /** Maintenance mode: the documented answers instead of the routes. */
      readonly maintenance?: { readonly retryAfterSeconds: number };
    },
  ): HostRoutes {
    const hostRoutes = new HostRoutes(this, id, {
      name: props.name,
      namespace: this.namespace,
      hostname: props.hostname,
      gateway: this.reference,
      routes: props.routes,
      backendNamespace: props.backendNamespace,
      // Requests reach the routes only through the load balancer's TLS listener.
      ...(this.tlsTermination === 'load-balancer' ? { forwardedProto: 'https' as const } : {}),
      ...(props.maintenance ? { maintenance: props.maintenance } : {}),
      labels: this.labelsFor(props.name, 'ingress'),
    });
    return hostRoutes;
  }
}

/**
 * An RE2 regex (anchored, as Istio applies it) that matches exactly the paths that do NOT
 * start with `prefix`: a proper prefix of it, or a path that leaves it at some character.
 * Uses only syntax that RE2 and JavaScript read alike.
 */
export function pathsNotUnder(prefix: string): string {
  if (prefix.length === 0) throw new Error('pathsNotUnder: the prefix must not be empty');
  // From the end: at position i, the rest either ends, differs from prefix[i], or equals it and continues.
  let rest = '';
  for (let index = prefix.length - 1; index >= 0; index--) {
    const char = prefix[index] as string;
    const differs = `[^${char === ']' || char === '\\' || char === '^' || char === '-' ? `\\${char}` : char}].*`;
    rest = rest === '' ? `(?:${differs})?` : `(?:${differs}|${escapeRegex(char)}${rest})?`;
  }
  return rest;
}
