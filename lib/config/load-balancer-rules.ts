/*
 * Which load-balancer settings go together: one set of rules, for the configuration schema (which
 * names the field) and for the gateway's exposure (edge/load-balancer.ts, which refuses the same
 * combinations when called directly).
 */

export type LoadBalancerProvider = 'aws' | 'gcp' | 'azure' | 'generic';
export type LoadBalancerMode = 'l4' | 'l7';
/** Where TLS ends: at the Istio gateway, at the load balancer (AWS NLB TLS listener), or at an HTTP(S) proxy in front. */
export type TlsTermination = 'gateway' | 'load-balancer' | 'http-proxy';

export function tlsTermination(mode: LoadBalancerMode, provider: LoadBalancerProvider): TlsTermination {
  if (mode === 'l4') return 'gateway';
  return provider === 'aws' ? 'load-balancer' : 'http-proxy';
}

export interface LoadBalancerChoice {
  readonly mode: LoadBalancerMode;
  readonly provider: LoadBalancerProvider;
  readonly certificate?: string;
  readonly trustedProxies?: number;
  readonly serviceType?: string;
  readonly sourceRanges: readonly string[];
  readonly externalDns: boolean;
}

export interface LoadBalancerProblem {
  /** The field of `loadBalancer` at fault. */
  readonly field: 'certificate' | 'trustedProxies' | 'serviceType' | 'sourceRanges' | 'externalDns';
  readonly message: string;
}

/** Every rule the combination breaks; [] when it works. */
export function loadBalancerProblems(choice: LoadBalancerChoice): LoadBalancerProblem[] {
  const { mode, provider } = choice;
  const termination = tlsTermination(mode, provider);
  const problems: LoadBalancerProblem[] = [];
  const problem = (field: LoadBalancerProblem['field'], message: string) => problems.push({ field, message });
  if (choice.trustedProxies !== undefined && mode !== 'l7') {
    problem('trustedProxies', 'expected only with loadBalancer.mode "l7" (an L4 load balancer adds no proxy hop)');
  }
  if (termination === 'load-balancer' && choice.certificate === undefined) {
    problem(
      'certificate',
      'expected the ARN of the ACM certificate for both hostnames with mode "l7" and provider "aws" (the NLB\'s TLS listener ends TLS with it)',
    );
  }
  if (termination !== 'load-balancer' && choice.certificate !== undefined) {
    problem(
      'certificate',
      'expected only with mode "l7" and provider "aws" (in L4 mode the gateway holds the certificate; other L7 providers hold it on your HTTP(S) proxy)',
    );
  }
  if (termination === 'load-balancer' && choice.trustedProxies !== undefined) {
    problem(
      'trustedProxies',
      'expected none with mode "l7" and provider "aws": the NLB passes client addresses by PROXY protocol and appends no X-Forwarded-For hop, so trusting one would let clients forge their address',
    );
  }
  if (termination === 'http-proxy' && provider === 'generic' && choice.trustedProxies === undefined) {
    problem(
      'trustedProxies',
      'expected the number of HTTP proxies in front of the gateway that append X-Forwarded-For, with mode "l7" and provider "generic" (the proxy is yours, so its hops cannot be guessed)',
    );
  }
  if (termination !== 'http-proxy' && choice.serviceType !== undefined) {
    problem(
      'serviceType',
      'expected only with mode "l7" and provider "gcp", "azure" or "generic" (otherwise the gateway\'s Service is a LoadBalancer)',
    );
  }
  if (termination === 'http-proxy' && choice.sourceRanges.length > 0) {
    problem(
      'sourceRanges',
      `expected none with mode "l7" and provider "${provider}": the gateway's Service is not a load balancer; restrict clients on your HTTP(S) proxy (Cloud Armor, a WAF policy, firewall rules)`,
    );
  }
  if (termination === 'http-proxy' && choice.externalDns) {
    problem(
      'externalDns',
      `expected false with mode "l7" and provider "${provider}": the public address is your HTTP(S) proxy's; let external-dns read the hostnames from its Ingress or Gateway`,
    );
  }
  return problems;
}
