import { describe, expect, it } from 'vitest';
import { redisInstanceFor, databasesOf, redisInstancesOf } from '../../lib/catalog/services';
import { SSO_PROVIDERS, SSO_SERVICE, SSO_SETTINGS } from '../../lib/catalog/single-sign-on';
import type { SingleSignOn } from '../../lib/config/prefect-schema';

/** The variables of single sign-on that read a Secret: the client secrets (and Okta's API key). */
const ssoSecretVariables = (sso: SingleSignOn) =>
  SSO_PROVIDERS.filter((provider) => sso[provider]).flatMap((provider) =>
    SSO_SETTINGS[provider].filter((setting) => 'secretKey' in setting).map((setting) => setting.variable),
  );
import { strictlyContains } from '../../lib/core/cidr';
import type { KubernetesObject, RenderedEnvironment } from '../../lib/output/render';
import { resolveCatalog, type ResolvedService } from '../../lib/prefect/service-catalog';
import { build, ENVIRONMENTS, findObject, loadEnvironment } from '../helpers';

/** The Customer-Managed environments' databases, which these tests build. */
const DATABASES = databasesOf('customer-managed') as ReadonlyArray<'events' | 'nebula' | 'orion'>;
/** The Customer-Managed environments' Redis instances, which these tests build. */
const REDIS_INSTANCES = redisInstancesOf('customer-managed') as ReadonlyArray<'cache' | 'work' | 'streams'>;

/*
 * The graph of who may reach what, evaluated from the generated policies (not from the
 * catalog): a connection needs the client's NetworkPolicy egress, the server's NetworkPolicy
 * ingress and the server's Istio AuthorizationPolicy to allow it. It must be allowed exactly
 * when the catalog declares the relation.
 */

interface Pod {
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly serviceAccount: string;
}

/** An address outside the cluster (a webhook receiver, an identity provider). */
interface Outside {
  readonly address: string;
}

/** Pods get their addresses from the cluster's private ranges; outside addresses are what they are. */
const PRIVATE_RANGES = loadEnvironment('prod').cluster.privateRanges;
const within = (range: string, inner: string) => range === inner || strictlyContains(range, inner);
const hostRange = (address: string) => `${address}/${address.includes(':') ? 128 : 32}`;

/** An ipBlock selects an address in `cidr` and not in `except`; a pod, when some private range is left in. */
function ipBlockMatches(block: { cidr: string; except?: string[] }, target: Pod | Outside): boolean {
  const ranges = 'address' in target ? [hostRange(target.address)] : PRIVATE_RANGES;
  return ranges.some((range) => within(block.cidr, range) && !(block.except ?? []).some((excepted) => within(excepted, range)));
}

type Spec = Record<string, any>;

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
  Object.entries(selector ?? {}).every(([key, value]) => labels[key] === value);

/** The workload of a catalog service: loop services run as a StatefulSet. */
const serviceKind = (service: Pick<ResolvedService, 'type'>) => (service.type === 'loop' ? 'StatefulSet' : 'Deployment');

function podOf(rendered: RenderedEnvironment, kind: string, name: string, namespace: string): Pod {
  const spec = findObject(rendered, kind, name, namespace).spec as Spec;
  return { namespace, labels: spec.template.metadata.labels, serviceAccount: spec.template.spec.serviceAccountName };
}

function policiesSelecting(rendered: RenderedEnvironment, kind: string, pod: Pod): KubernetesObject[] {
  return rendered.objects
    .map(({ object }) => object)
    .filter((object) => object.kind === kind && object.metadata.namespace === pod.namespace)
    .filter((object) => {
      const spec = object.spec as Spec;
      const selector = kind === 'NetworkPolicy' ? spec.podSelector?.matchLabels : spec.selector?.matchLabels;
      return matches(selector, pod.labels);
    });
}

function peerMatches(peer: Spec, target: Pod | Outside, policyNamespace: string): boolean {
  if (peer.ipBlock) return ipBlockMatches(peer.ipBlock, target);
  if ('address' in target) return false;
  const pod = target;
  const namespaceOk = peer.namespaceSelector
    ? matches(peer.namespaceSelector.matchLabels, { 'kubernetes.io/metadata.name': pod.namespace })
    : pod.namespace === policyNamespace;
  return namespaceOk && (peer.podSelector ? matches(peer.podSelector.matchLabels, pod.labels) : true);
}

const portMatches = (ports: Spec[] | undefined, port: number) =>
  !ports || ports.some((entry) => entry.port === port || entry.port === String(port));

/** NetworkPolicy semantics: a direction is open when no policy selecting the pod restricts it, or any rule allows. */
function networkAllows(rendered: RenderedEnvironment, client: Pod, server: Pod | Outside, port: number): boolean {
  const egress = policiesSelecting(rendered, 'NetworkPolicy', client).filter((policy) =>
    ((policy.spec as Spec).policyTypes ?? []).includes('Egress'),
  );
  const egressOk =
    egress.length === 0 ||
    egress.some((policy) =>
      ((policy.spec as Spec).egress ?? []).some(
        (rule: Spec) =>
          portMatches(rule.ports, port) && (!rule.to || rule.to.some((peer: Spec) => peerMatches(peer, server, client.namespace))),
      ),
    );
  // Outside the cluster, nothing but the client's egress decides.
  if ('address' in server) return egressOk;
  const ingress = policiesSelecting(rendered, 'NetworkPolicy', server).filter((policy) =>
    ((policy.spec as Spec).policyTypes ?? ['Ingress']).includes('Ingress'),
  );
  const ingressOk =
    ingress.length === 0 ||
    ingress.some((policy) =>
      ((policy.spec as Spec).ingress ?? []).some(
        (rule: Spec) =>
          portMatches(rule.ports, port) && (!rule.from || rule.from.some((peer: Spec) => peerMatches(peer, client, server.namespace))),
      ),
    );
  return egressOk && ingressOk;
}

/** Istio ALLOW semantics: with any ALLOW policy on the workload, a request needs one matching rule. */
function meshAllows(rendered: RenderedEnvironment, client: Pod, server: Pod, port: number): boolean {
  const principal = `cluster.local/ns/${client.namespace}/sa/${client.serviceAccount}`;
  const namespaceWide = rendered.objects
    .map(({ object }) => object)
    .filter(
      (object) =>
        object.kind === 'AuthorizationPolicy' && object.metadata.namespace === server.namespace && !(object.spec as Spec)?.selector,
    );
  const allows = [...policiesSelecting(rendered, 'AuthorizationPolicy', server), ...namespaceWide].filter(
    (policy) => ((policy.spec as Spec)?.action ?? 'ALLOW') === 'ALLOW',
  );
  return allows.some((policy) =>
    ((policy.spec as Spec)?.rules ?? []).some((rule: Spec) => {
      const fromOk =
        !rule.from ||
        rule.from.some(
          (entry: Spec) =>
            (entry.source.principals ?? []).includes(principal) || (entry.source.namespaces ?? []).includes(client.namespace),
        );
      const toOk = !rule.to || rule.to.some((entry: Spec) => !entry.operation?.ports || entry.operation.ports.includes(String(port)));
      return fromOk && toOk;
    }),
  );
}

describe.each(ENVIRONMENTS)('service wiring in %s', (environment) => {
  const rendered = build(environment);
  const config = loadEnvironment(environment);
  const data = config.namespaces.data;
  const services = resolveCatalog(config);
  const postgres = podOf(rendered, 'StatefulSet', 'postgres', data);
  const redis = Object.fromEntries(
    REDIS_INSTANCES.map((instance) => [
      instance,
      podOf(rendered, instance === 'cache' ? 'Deployment' : 'StatefulSet', `redis-${instance}`, data),
    ]),
  );

  it.each(services.map((service) => [service.name, service] as const))('%s reaches exactly the servers it declares', (name, service) => {
    const pod = podOf(rendered, serviceKind(service), name, config.namespaces.prefect);
    const reach = (server: Pod, port: number) => networkAllows(rendered, pod, server, port) && meshAllows(rendered, pod, server, port);
    expect(reach(postgres, 5432), 'postgres').toBe(service.databases.length > 0);
    const instances = service.redis.map((role) => redisInstanceFor(config.redis.roles, role));
    for (const instance of REDIS_INSTANCES)
      expect(reach(redis[instance] as Pod, 6379), `redis ${instance}`).toBe(instances.includes(instance));
    // Its credentials: exactly the databases and instances it declares.
    const env: Array<{ name: string; valueFrom?: Spec }> = (
      findObject(rendered, serviceKind(service), name, config.namespaces.prefect).spec as Spec
    ).template.spec.containers[0].env;
    const secretNames = env
      .filter((entry) => entry.valueFrom?.secretKeyRef)
      .map((entry) => entry.name)
      .sort();
    const expected = [
      ...service.databases.map((database) => `${database.toUpperCase()}_DATABASE_PASSWORD`),
      ...service.redis.map((role) => `REDIS_${role.toUpperCase().replace(/-/g, '_')}_PASSWORD`),
      ...(service.name === SSO_SERVICE && config.prefect.sso ? ssoSecretVariables(config.prefect.sso) : []),
    ].sort();
    expect(secretNames).toEqual(expected);
  });

  it('sends DNS queries to the cluster DNS pods only', () => {
    const nebula = podOf(rendered, 'Deployment', 'nebula', config.namespaces.prefect);
    const clusterDns: Pod = { namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' }, serviceAccount: 'coredns' };
    const elsewhere: Pod = { namespace: 'default', labels: { app: 'resolver' }, serviceAccount: 'default' };
    expect(networkAllows(rendered, nebula, clusterDns, 53)).toBe(true);
    expect(networkAllows(rendered, nebula, elsewhere, 53)).toBe(false);
  });

  it('keeps a service that does not use Redis streams away from it, on every layer', () => {
    const nebula = podOf(rendered, 'Deployment', 'nebula', config.namespaces.prefect);
    expect(networkAllows(rendered, nebula, redis.streams as Pod, 6379)).toBe(false);
    expect(meshAllows(rendered, nebula, redis.streams as Pod, 6379)).toBe(false);
  });

  it('lets every service call every web service, and no pod outside the catalog', () => {
    const prefect = config.namespaces.prefect;
    const stranger: Pod = { namespace: prefect, labels: { app: 'debug' }, serviceAccount: 'default' };
    for (const web of services.filter((service) => service.type === 'web')) {
      const server = podOf(rendered, 'Deployment', web.name, prefect);
      const port = web.port as number;
      for (const client of services) {
        const pod = podOf(rendered, serviceKind(client), client.name, prefect);
        expect(networkAllows(rendered, pod, server, port) && meshAllows(rendered, pod, server, port), `${client.name} -> ${web.name}`).toBe(
          true,
        );
      }
      expect(
        networkAllows(rendered, stranger, server, port) || meshAllows(rendered, stranger, server, port),
        `stranger -> ${web.name}`,
      ).toBe(false);
    }
  });

  it('opens the way out of the cluster exactly where the catalog says so: HTTPS to public addresses', () => {
    for (const service of services) {
      const pod = podOf(rendered, serviceKind(service), service.name, config.namespaces.prefect);
      const outbound = service.egress.length > 0;
      expect(networkAllows(rendered, pod, { address: '203.0.113.10' }, 443), `${service.name} -> internet:443`).toBe(outbound);
      expect(networkAllows(rendered, pod, { address: '2001:db8::10' }, 443), `${service.name} -> internet (IPv6):443`).toBe(outbound);
      expect(networkAllows(rendered, pod, { address: '203.0.113.10' }, 80), `${service.name} -> internet:80`).toBe(false);
      // The private ranges stay closed: the cluster's own addresses and the metadata endpoint.
      for (const address of ['10.96.0.1', '172.20.1.1', '192.168.1.1', '169.254.169.254', 'fd00::1']) {
        expect(networkAllows(rendered, pod, { address }, 443), `${service.name} -> ${address}:443`).toBe(false);
      }
    }
  });

  it("closes both directions for a pod that no workload policy selects (the namespaces' default-deny)", () => {
    for (const namespace of [config.namespaces.prefect, data]) {
      const stranger: Pod = { namespace, labels: { app: 'debug' }, serviceAccount: 'default' };
      const nebula = podOf(rendered, 'Deployment', 'nebula', config.namespaces.prefect);
      expect(networkAllows(rendered, stranger, postgres, 5432), `${namespace}: stranger -> postgres`).toBe(false);
      expect(networkAllows(rendered, stranger, { address: '203.0.113.10' }, 443), `${namespace}: stranger -> internet`).toBe(false);
      expect(networkAllows(rendered, nebula, stranger, 8080), `${namespace}: nebula -> stranger`).toBe(false);
    }
    const policy = findObject(rendered, 'NetworkPolicy', 'default-deny', config.namespaces.prefect);
    expect(policy.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
  });

  it('lets each migration Job reach PostgreSQL as the superuser', () => {
    for (const database of DATABASES) {
      const job = rendered.objects.find(({ object }) => object.kind === 'Job' && object.metadata.name.startsWith(`migrate-${database}-`))
        ?.object as KubernetesObject;
      const spec = (job.spec as Spec).template;
      const pod: Pod = {
        namespace: job.metadata.namespace as string,
        labels: spec.metadata.labels,
        serviceAccount: spec.spec.serviceAccountName,
      };
      expect(networkAllows(rendered, pod, postgres, 5432) && meshAllows(rendered, pod, postgres, 5432)).toBe(true);
      const names = spec.spec.containers[0].env.map((entry: { name: string }) => entry.name);
      expect(names).toEqual(expect.arrayContaining(['POSTGRES_SUPERUSER_PASSWORD', 'MIGRATION_DATABASE_URL']));
    }
  });

  it('admits the ingress gateway to routed web services only', () => {
    const gateway: Pod = {
      namespace: config.namespaces.ingress,
      labels: config.mesh.gatewaySelector,
      serviceAccount: 'istio-ingressgateway',
    };
    for (const service of services) {
      const pod = podOf(rendered, serviceKind(service), service.name, config.namespaces.prefect);
      const routed = service.type === 'web' && service.host !== 'internal';
      const port = service.port ?? 8080;
      expect(networkAllows(rendered, gateway, pod, port) && meshAllows(rendered, gateway, pod, port), service.name).toBe(routed);
    }
  });
});
