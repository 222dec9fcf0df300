import { App, Chart } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { isNetworkCidr, parseCidr, strictlyContains } from '../../lib/core/cidr';
import { NamespaceDefaultDeny } from '../../lib/mesh/namespace-default-deny';
import type { KubernetesObject } from '../../lib/output/render';
import { PrincipalAllowPolicy } from '../../lib/mesh/principal-allow-policy';
import { WorkloadNetworkPolicy } from '../../lib/mesh/workload-network-policy';
import { build, ENVIRONMENTS, findObject, loadEnvironment } from '../helpers';

type Spec = Record<string, any>;

function chartWith(build: (chart: Chart) => void): Spec[] {
  const chart = new Chart(new App({ outdir: '.cdk8s.out' }), 'test');
  build(chart);
  return (chart.toJson() as KubernetesObject[]).map((object) => object.spec as Spec);
}

const mesh = {
  istioNamespace: 'istio-system',
  trustDomain: 'cluster.local',
  clusterDns: { namespace: 'kube-system', podSelector: { 'k8s-app': 'kube-dns' }, nodeLocalAddresses: [] },
};
const props = { name: 'web', namespace: 'app', labels: {}, podSelector: { app: 'web' }, mesh };

describe('CIDR ranges', () => {
  it('parses IPv4 and IPv6 ranges, compressed or not', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ family: 4, address: 10n << 24n, prefix: 8 });
    expect(parseCidr('::/0')).toEqual({ family: 6, address: 0n, prefix: 0 });
    expect(parseCidr('fe80::/10')).toEqual(parseCidr('fe80:0:0:0:0:0:0:0/10'));
    for (const text of [
      '10.0.0.0',
      '10.0.0/8',
      '256.0.0.0/8',
      '10.0.0.0/33',
      '010.0.0.0/8',
      'fe80:::/10',
      '1:2:3:4:5:6:7:8:9/64',
      '::/129',
      'host/8',
    ]) {
      expect(parseCidr(text), text).toBeUndefined();
    }
  });

  it('knows a network range from an address with a prefix', () => {
    expect(isNetworkCidr('192.168.0.0/16')).toBe(true);
    expect(isNetworkCidr('192.168.1.0/16')).toBe(false);
    expect(isNetworkCidr('2001:db8::/32')).toBe(true);
    expect(isNetworkCidr('2001:db8::1/32')).toBe(false);
  });

  it('says whether a range lies strictly inside another, of the same family', () => {
    expect(strictlyContains('0.0.0.0/0', '10.0.0.0/8')).toBe(true);
    expect(strictlyContains('10.0.0.0/8', '10.20.0.0/16')).toBe(true);
    expect(strictlyContains('10.0.0.0/8', '10.0.0.0/8')).toBe(false);
    expect(strictlyContains('10.20.0.0/16', '10.0.0.0/8')).toBe(false);
    expect(strictlyContains('10.0.0.0/8', '11.0.0.0/16')).toBe(false);
    expect(strictlyContains('0.0.0.0/0', 'fc00::/7')).toBe(false);
    expect(strictlyContains('::/0', 'fc00::/7')).toBe(true);
    expect(strictlyContains('fc00::/7', 'fd00::/8')).toBe(true);
  });
});

describe('WorkloadNetworkPolicy', () => {
  it('sends DNS only to the cluster DNS it is given, and reaches istiod in the namespace it is given', () => {
    const clusterDns = { namespace: 'dns', podSelector: { app: 'coredns' }, nodeLocalAddresses: ['169.254.20.10/32'] };
    const [spec] = chartWith(
      (chart) => new WorkloadNetworkPolicy(chart, 'Policy', { ...props, mesh: { ...mesh, istioNamespace: 'mesh', clusterDns } }),
    );
    const [dnsRule, istiodRule] = (spec?.egress ?? []) as Spec[];
    expect(dnsRule?.to).toEqual([
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'dns' } }, podSelector: { matchLabels: { app: 'coredns' } } },
      { ipBlock: { cidr: '169.254.20.10/32' } },
    ]);
    expect(istiodRule).toEqual({
      to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'mesh' } } }],
      ports: [{ protocol: 'TCP', port: 15012 }],
    });
  });

  it('opens TCP to an address range, its exceptions left out', () => {
    const [spec] = chartWith((chart) => {
      const policy = new WorkloadNetworkPolicy(chart, 'Policy', props);
      policy.allowEgressToCidr({ cidr: '0.0.0.0/0', except: ['10.0.0.0/8'], ports: [443, 80] });
      policy.allowEgressToCidr({ cidr: '0.0.0.0/0', except: ['10.0.0.0/8'], ports: [80, 443] });
      policy.allowEgressToCidr({ cidr: '198.51.100.0/24', ports: [8443] });
    });
    expect(((spec?.egress ?? []) as Spec[]).slice(2)).toEqual([
      {
        to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8'] } }],
        ports: [
          { protocol: 'TCP', port: 80 },
          { protocol: 'TCP', port: 443 },
        ],
      },
      { to: [{ ipBlock: { cidr: '198.51.100.0/24' } }], ports: [{ protocol: 'TCP', port: 8443 }] },
    ]);
  });

  it('states open egress as a rule, so that a namespace default-deny does not close it', () => {
    const [spec] = chartWith((chart) => void new WorkloadNetworkPolicy(chart, 'Policy', { ...props, restrictEgress: false }));
    expect(spec).toMatchObject({ policyTypes: ['Ingress', 'Egress'], egress: [{}] });
  });
});

describe('PrincipalAllowPolicy', () => {
  it('allows nothing until a principal is allowed, then each once, sorted, on its one port', () => {
    const policyProps = { name: 'db', namespace: 'data', labels: {}, podSelector: { app: 'db' }, port: 5432 };
    const [empty] = chartWith((chart) => new PrincipalAllowPolicy(chart, 'Empty', policyProps));
    expect(empty).toEqual({ action: 'ALLOW', selector: { matchLabels: { app: 'db' } }, rules: [] });
    const [allowing] = chartWith((chart) => {
      const policy = new PrincipalAllowPolicy(chart, 'Policy', policyProps);
      policy.allow('cluster.local/ns/prefect/sa/server');
      policy.allow('cluster.local/ns/prefect/sa/auth');
      policy.allow('cluster.local/ns/prefect/sa/server');
    });
    expect(allowing?.rules).toEqual([
      {
        from: [{ source: { principals: ['cluster.local/ns/prefect/sa/auth', 'cluster.local/ns/prefect/sa/server'] } }],
        to: [{ operation: { ports: ['5432'] } }],
      },
    ]);
  });
});

describe('NamespaceDefaultDeny', () => {
  it('selects every pod of its namespace and allows nothing', () => {
    const [spec] = chartWith((chart) => void new NamespaceDefaultDeny(chart, 'Deny', { namespace: 'app', labels: {} }));
    expect(spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  });

  it.each(ENVIRONMENTS.map((environment) => [environment]))(
    'closes the Prefect and data namespaces of %s, in the platform layer',
    (environment) => {
      const rendered = build(environment);
      const config = loadEnvironment(environment);
      const denies = rendered.objects.filter(({ object }) => object.kind === 'NetworkPolicy' && object.metadata.name === 'default-deny');
      expect(denies.map(({ layer, object }) => `${layer} ${object.metadata.namespace}`).sort()).toEqual(
        [`platform ${config.namespaces.data}`, `platform ${config.namespaces.prefect}`].sort(),
      );
      // Not the ingress namespace: cert-manager's HTTP-01 solver pods run there (the Certificate's
      // namespace), with the gateway, and are not closed by these policies.
      expect(() => findObject(rendered, 'NetworkPolicy', 'default-deny', config.namespaces.ingress)).toThrow('found 0');
    },
  );
});
