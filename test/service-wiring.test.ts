import { describe, expect, it } from 'vitest';
import { DATABASES, REDIS_INSTANCES } from '../lib/catalog';
import type { KubernetesObject, RenderedEnvironment } from '../lib/output/render';
import { resolveCatalog } from '../lib/service-catalog';
import { build, ENVIRONMENTS, findObject, loadEnvironment } from './helpers';

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

type Spec = Record<string, any>;

const matches = (selector: Record<string, string> | undefined, labels: Record<string, string>) => Object.entries(selector ?? {}).every(([key, value]) => labels[key] === value);

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

function peerMatches(peer: Spec, pod: Pod, policyNamespace: string): boolean {
  if (peer.ipBlock) return true;
  const namespaceOk = peer.namespaceSelector ? matches(peer.namespaceSelector.matchLabels, { 'kubernetes.io/metadata.name': pod.namespace }) : pod.namespace === policyNamespace;
  return namespaceOk && (peer.podSelector ? matches(peer.podSelector.matchLabels, pod.labels) : true);
}

const portMatches = (ports: Spec[] | undefined, port: number) => !ports || ports.some((entry) => entry.port === port || entry.port === String(port));

/** NetworkPolicy semantics: a direction is open when no policy selecting the pod restricts it, or any rule allows. */
function networkAllows(rendered: RenderedEnvironment, client: Pod, server: Pod, port: number): boolean {
  const egress = policiesSelecting(rendered, 'NetworkPolicy', client).filter((policy) => ((policy.spec as Spec).policyTypes ?? []).includes('Egress'));
  const egressOk = egress.length === 0 || egress.some((policy) => ((policy.spec as Spec).egress ?? []).some((rule: Spec) => portMatches(rule.ports, port) && (!rule.to || rule.to.some((peer: Spec) => peerMatches(peer, server, client.namespace)))));
  const ingress = policiesSelecting(rendered, 'NetworkPolicy', server).filter((policy) => ((policy.spec as Spec).policyTypes ?? ['Ingress']).includes('Ingress'));
  const ingressOk = ingress.length === 0 || ingress.some((policy) => ((policy.spec as Spec).ingress ?? []).some((rule: Spec) => portMatches(rule.ports, port) && (!rule.from || rule.from.some((peer: Spec) => peerMatches(peer, client, server.namespace)))));
  return egressOk && ingressOk;
}

/** Istio ALLOW semantics: with any ALLOW policy on the workload, a request needs one matching rule. */
function meshAllows(rendered: RenderedEnvironment, client: Pod, server: Pod, port: number): boolean {
  const principal = `cluster.local/ns/${client.namespace}/sa/${client.serviceAccount}`;
  const namespaceWide = rendered.objects
    .map(({ object }) => object)
    .filter((object) => object.kind === 'AuthorizationPolicy' && object.metadata.namespace === server.namespace && !(object.spec as Spec)?.selector);
  const allows = [...policiesSelecting(rendered, 'AuthorizationPolicy', server), ...namespaceWide].filter((policy) => ((policy.spec as Spec)?.action ?? 'ALLOW') === 'ALLOW');
  return allows.some((policy) =>
    ((policy.spec as Spec)?.rules ?? []).some((rule: Spec) => {
      const fromOk = !rule.from || rule.from.some((entry: Spec) => (entry.source.principals ?? []).includes(principal) || (entry.source.namespaces ?? []).includes(client.namespace));
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
  const redis = Object.fromEntries(REDIS_INSTANCES.map((instance) => [instance, podOf(rendered, instance === 'cache' ? 'Deployment' : 'StatefulSet', `redis-${instance}`, data)]));

  it.each(services.map((service) => [service.name, service] as const))('%s reaches exactly the servers it declares', (name, service) => {
    const pod = podOf(rendered, 'Deployment', name, config.namespaces.prefect);
    const reach = (server: Pod, port: number) => networkAllows(rendered, pod, server, port) && meshAllows(rendered, pod, server, port);
    expect(reach(postgres, 5432), 'postgres').toBe(service.databases.length > 0);
    for (const instance of REDIS_INSTANCES) expect(reach(redis[instance] as Pod, 6379), `redis ${instance}`).toBe(service.redis.includes(instance));
    // Its credentials: exactly the databases and instances it declares.
    const env: Array<{ name: string; valueFrom?: Spec }> = (findObject(rendered, 'Deployment', name, config.namespaces.prefect).spec as Spec).template.spec.containers[0].env;
    const secretNames = env.filter((entry) => entry.valueFrom?.secretKeyRef).map((entry) => entry.name).sort();
    const expected = [...service.databases.map((database) => `${database.toUpperCase()}_DATABASE_PASSWORD`), ...service.redis.map((instance) => `REDIS_${instance.toUpperCase()}_PASSWORD`)].sort();
    expect(secretNames).toEqual(expected);
  });

  it('keeps a service that does not use Redis streams away from it, on every layer', () => {
    const nebula = podOf(rendered, 'Deployment', 'nebula', config.namespaces.prefect);
    expect(networkAllows(rendered, nebula, redis.streams as Pod, 6379)).toBe(false);
    expect(meshAllows(rendered, nebula, redis.streams as Pod, 6379)).toBe(false);
  });

  it('lets each migration Job reach PostgreSQL as the superuser', () => {
    for (const database of DATABASES) {
      const job = rendered.objects.find(({ object }) => object.kind === 'Job' && object.metadata.name.startsWith(`migrate-${database}-`))?.object as KubernetesObject;
      const spec = (job.spec as Spec).template;
      const pod: Pod = { namespace: job.metadata.namespace as string, labels: spec.metadata.labels, serviceAccount: spec.spec.serviceAccountName };
      expect(networkAllows(rendered, pod, postgres, 5432) && meshAllows(rendered, pod, postgres, 5432)).toBe(true);
      const names = spec.spec.containers[0].env.map((entry: { name: string }) => entry.name);
      expect(names).toEqual(expect.arrayContaining(['POSTGRES_SUPERUSER_PASSWORD', 'MIGRATION_DATABASE_URL']));
    }
  });

  it('admits the ingress gateway to routed web services only', () => {
    const gateway: Pod = { namespace: config.namespaces.ingress, labels: config.mesh.gatewaySelector, serviceAccount: 'istio-ingressgateway' };
    for (const service of services) {
      const pod = podOf(rendered, 'Deployment', service.name, config.namespaces.prefect);
      const routed = service.type === 'web' && service.host !== 'internal';
      const port = service.port ?? 8080;
      expect(networkAllows(rendered, gateway, pod, port) && meshAllows(rendered, gateway, pod, port), service.name).toBe(routed);
    }
  });
});
