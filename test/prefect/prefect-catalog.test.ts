import { App } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { CONNECTION_LIMITS } from '../../lib/edge/routes/backend-traffic-policy';
import {
  DEFAULT_CATALOG,
  redisInstanceFor,
  SHARED_REDIS_ROLES,
  type DatabaseName,
  type RedisName,
  type RedisRole,
} from '../../lib/catalog/services';
import { PrefectChart, type DataServices } from '../../lib/charts/prefect-chart';
import { parseConfig } from '../../lib/config/load';
import type { ServiceOverride } from '../../lib/config/schema';
import { type DataClient, RecordingDataClient } from '../../lib/core/data-client';
import type { KubernetesObject, RenderedEnvironment } from '../../lib/output/render';
import { resolveCatalog, type ResolvedService } from '../../lib/prefect/service-catalog';
import { buildVariant, variantText } from '../config-variants';
import { findObject, loadEnvironment } from '../helpers';
import { routeRequest } from '../edge/routes/istio-routing';

/** A data layer that records the relations asked of it. */
function recordingData(): DataServices & { grants: string[] } {
  const grants: string[] = [];
  const redis = (instance: RedisName) => ({
    host: `redis-${instance}.prefect-data.svc`,
    port: 6379,
    tls: false,
    allowFrom: (client: DataClient, role: RedisRole = instance) =>
      void grants.push(`${client.name} redis:${instance}${role === instance ? '' : ` as ${role}`}`),
    admitScaler: (client: DataClient) => void grants.push(`${client.namespace}/${client.name} scales on redis:${instance}`),
  });
  return {
    grants,
    postgres: { grantDatabase: (client: DataClient, database: DatabaseName) => void grants.push(`${client.name} db:${database}`) },
    redis: { cache: redis('cache'), work: redis('work'), streams: redis('streams'), messaging: redis('messaging') },
    secrets: {
      imagePullSecrets: (namespace: string) => [{ name: `pull-secret-of-${namespace}` }],
      revisionAnnotation: { 'prefect-cdk8s.io/secrets-revision': '7' },
      keyRef: (id: string, key: string, namespace: string) => {
        grants.push(`secret:${namespace}/${id}/${key}`);
        return { name: `prefect-${id}`, key };
      },
      configuredKeyRef: (name: string, key: string, namespace: string, purpose: string) => {
        grants.push(`${purpose} secret:${namespace}/${name}/${key}`);
        return { name, key };
      },
    },
  };
}

type Spec = Record<string, any>;

function synthPrefect(configText?: string) {
  const config = configText ? parseConfig(configText, 'config/prod.yaml', 'prod') : loadEnvironment('prod');
  const data = recordingData();
  const gateway = new RecordingDataClient('ingress-gateway', 'istio-ingress', { istio: 'ingressgateway' }, 'istio-ingressgateway');
  const chart = new PrefectChart(new App({ outdir: '.cdk8s.out' }), { config, catalog: resolveCatalog(config), data, gateway });
  const objects = chart.toJson() as KubernetesObject[];
  const find = (kind: string, name: string) => {
    const found = objects.filter((object) => object.kind === kind && object.metadata.name === name);
    if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
    return found[0] as KubernetesObject & { spec: Spec };
  };
  const none = (kind: string, name: string) => objects.filter((object) => object.kind === kind && object.metadata.name === name);
  return { config, data, objects, find, none, chart };
}

const API = 'api.prefect.example.com';
const IPV4_PRIVATE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16'];
const IPV6_PRIVATE = ['fc00::/7', 'fe80::/10'];
const workloadKind = (service: ResolvedService) => (service.type === 'loop' ? 'StatefulSet' : 'Deployment');
const containerOf = (workload: { spec: Spec }) => workload.spec.template.spec.containers[0];
const ipBlockRules = (policy: { spec: Spec }) =>
  (policy.spec.egress as Spec[]).filter((rule) => rule.to?.some((peer: Spec) => peer.ipBlock));

describe('the service catalog', () => {
  it('holds the services Prefect documents, with unique names', () => {
    const names = DEFAULT_CATALOG.map((service) => service.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(
      expect.arrayContaining([
        'ui',
        'auth',
        'nebula',
        'server',
        'events',
        'server-background',
        'work-pools',
        'actions',
        'ladler',
        'triggers-reactive',
        'triggers-proactive',
      ]),
    );
  });

  it('raises scalable services to prefect.replicas and keeps loops at one', () => {
    const catalog = resolveCatalog(loadEnvironment('prod'));
    for (const service of catalog) {
      if (service.type === 'loop') expect([service.replicas, service.maxReplicas], service.name).toEqual([1, 1]);
      else expect(service.replicas, service.name).toBeGreaterThanOrEqual(2);
    }
  });

  it('opens HTTPS to the internet for the services that call out (auth, actions, work-pools), without the private ranges', () => {
    const catalog = resolveCatalog(loadEnvironment('prod'));
    const outbound = catalog.filter((service) => service.egress.length > 0).map((service) => service.name);
    expect(outbound.sort()).toEqual(['actions', 'auth', 'work-pools']);
    expect(catalog.find((service) => service.name === 'actions')?.egress).toEqual([
      { cidr: '0.0.0.0/0', except: IPV4_PRIVATE, ports: [443] },
      { cidr: '::/0', except: IPV6_PRIVATE, ports: [443] },
    ]);
  });

  it('leaves out of a destination only the private ranges inside it, unless it names its own', () => {
    const text = variantText('prod', {
      cluster: { privateRanges: ['10.0.0.0/8', '10.20.0.0/16', 'fd00::/8'] },
      prefect: {
        services: {
          auth: {
            egress: [
              { cidr: '10.20.0.0/16', ports: [636] },
              { cidr: '0.0.0.0/0', ports: [443] },
            ],
          },
          actions: { egress: [{ cidr: '0.0.0.0/0', except: [], ports: [443, 587] }] },
          'work-pools': { egress: [] },
        },
      },
    });
    const catalog = resolveCatalog(parseConfig(text, 'config/prod.yaml', 'prod'));
    const egressOf = (name: string) => catalog.find((service) => service.name === name)?.egress;
    // A corporate identity provider inside a private range is allowed as written.
    expect(egressOf('auth')).toEqual([
      { cidr: '10.20.0.0/16', except: [], ports: [636] },
      { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '10.20.0.0/16'], ports: [443] },
    ]);
    expect(egressOf('actions')).toEqual([{ cidr: '0.0.0.0/0', except: [], ports: [443, 587] }]);
    expect(egressOf('work-pools')).toEqual([]);
  });

  it('fails on an except range outside its cidr, on host bits, and on an empty port list', () => {
    const parse = (egress: unknown) => () =>
      parseConfig(variantText('prod', { prefect: { services: { actions: { egress } } } }), 'config/prod.yaml', 'prod');
    expect(parse([{ cidr: '203.0.113.0/24', except: ['10.0.0.0/8'], ports: [443] }])).toThrow(
      'prefect.services.actions.egress[0].except[0]: expected a range strictly inside cidr 203.0.113.0/24 (a NetworkPolicy rejects any other), got "10.0.0.0/8"',
    );
    expect(parse([{ cidr: '203.0.113.7/24', ports: [443] }])).toThrow(
      'prefect.services.actions.egress[0].cidr: expected a network range with no host bits set, such as "203.0.113.0/24" or "::/0"',
    );
    expect(parse([{ cidr: '0.0.0.0/0', ports: [] }])).toThrow('prefect.services.actions.egress[0].ports: expected at least one port');
    expect(() => parseConfig(variantText('prod', { cluster: { privateRanges: ['10.0.0.0/33'] } }), 'config/prod.yaml', 'prod')).toThrow(
      'cluster.privateRanges[0]: expected a network range',
    );
  });

  it('takes overrides of fields, removes disabled services and adds new ones', () => {
    const text = variantText('prod', {
      prefect: {
        services: {
          nebula: {
            args: ['serve', 'nebula', '--workers', '4'],
            replicas: 3,
            maxReplicas: 12,
            resources: { requests: { cpu: '1', memory: '2Gi' }, limits: { memory: '3Gi' } },
            env: { PREFECT_LOGGING_LEVEL: 'DEBUG' },
          },
          'work-pools': { enabled: false },
          'metrics-exporter': {
            type: 'background',
            image: 'server',
            command: ['prefect-cloud'],
            args: ['run', 'metrics-exporter'],
            databases: ['orion'],
            redis: [],
            resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
          },
        },
      },
    });
    const { find, objects, data } = synthPrefect(text);
    const nebula = find('Deployment', 'nebula').spec;
    expect(nebula.replicas).toBeUndefined();
    expect(nebula.template.spec.containers[0].args).toEqual(['serve', 'nebula', '--workers', '4']);
    expect(nebula.template.spec.containers[0].resources).toEqual({ requests: { cpu: '1', memory: '2Gi' }, limits: { memory: '3Gi' } });
    expect(nebula.template.spec.containers[0].env).toContainEqual({ name: 'PREFECT_LOGGING_LEVEL', value: 'DEBUG' });
    expect(find('HorizontalPodAutoscaler', 'nebula').spec).toMatchObject({ minReplicas: 3, maxReplicas: 12 });
    expect(objects.filter((object) => object.metadata.name === 'work-pools')).toEqual([]);
    expect(find('Deployment', 'metrics-exporter').spec.template.spec.containers[0].args).toEqual(['run', 'metrics-exporter']);
    expect(data.grants).toContain('metrics-exporter db:orion');
    // A new service calls out nowhere unless it says so.
    expect(ipBlockRules(find('NetworkPolicy', 'metrics-exporter'))).toEqual([]);
  });

  it('fails on a new service without its type, image and the rest', () => {
    const text = variantText('prod', { prefect: { services: { exporter: { args: ['run'] } } } });
    expect(() => parseConfig(text, 'config/prod.yaml', 'prod')).toThrow(
      'config/prod.yaml: prefect.services.exporter.type: required: expected type for the new service "exporter" (it is not in the default catalog)',
    );
  });

  it('fails on a loop service with more than one replica', () => {
    const text = variantText('prod', { prefect: { services: { 'triggers-proactive': { replicas: 2 } } } });
    expect(() => parseConfig(text, 'config/prod.yaml', 'prod')).toThrow(
      'config/prod.yaml: prefect.services.triggers-proactive.replicas: expected 1: a loop service runs exactly one replica, got number 2',
    );
  });
});

/*
 * Every field of a catalog entry, overridden by hand and followed to the manifest. The types make
 * this test incomplete-proof: a field added to ServiceDefinition must be added to the override
 * schema (`sameFields`), and a field of the override schema needs a value in `full` and a check
 * in `reaches` before this file compiles.
 *
 * The entry is work-pools, a background service turned into a routed web service, so that every
 * field differs from its default and has something to show: the API's `/api` route (nebula's)
 * points at it, and nebula becomes internal.
 */
describe('a catalog entry overridden in every field', () => {
  type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
  const sameFields: Exact<Exclude<keyof ResolvedService, 'name'>, Exclude<keyof ServiceOverride, 'enabled'>> = true;

  const full: Required<Omit<ServiceOverride, 'enabled'>> = {
    type: 'web',
    image: 'ui',
    command: ['/usr/local/bin/work-pools'],
    args: ['--workers', '4'],
    port: 9090,
    health: { liveness: '/livez', readiness: '/readyz' },
    metrics: { path: '/prom', port: 9102 },
    host: 'api',
    websockets: true,
    databases: ['events', 'nebula'],
    redis: ['cache', 'streams'],
    replicas: 3,
    maxReplicas: 9,
    resources: { requests: { cpu: '300m', memory: '768Mi' }, limits: { cpu: '2', memory: '1536Mi' } },
    env: { PREFECT_LOGGING_LEVEL: 'DEBUG' },
    egress: [{ cidr: '198.51.100.0/24', except: ['198.51.100.128/25'], ports: [8443] }],
    backlog: [{ stream: 'work-pool-events', group: 'work-pools' }],
  };
  const rendered: RenderedEnvironment = buildVariant('prod', {
    prefect: { services: { 'work-pools': full, nebula: { host: 'internal' } } },
    routes: { overrides: { nebula: { backend: 'work-pools' } } },
    // Three larger work-pools pods do not fit prod's nodes with one lost (the capacity check says so).
    cluster: { memoryPerNode: '32Gi' },
  });
  const find = (kind: string, name = 'work-pools') => findObject(rendered, kind, name, 'prefect') as KubernetesObject & { spec: Spec };
  const deployment = find('Deployment');
  const container = containerOf(deployment);
  const env = (container.env as Array<{ name: string }>).map((entry) => entry.name);

  const reaches: { readonly [Field in keyof typeof full]: () => void } = {
    type: () => {
      // A web service: a Service, probes, an HPA and a PDB; the Deployment rolls without downtime.
      expect(find('Service').spec.ports.map((port: Spec) => port.name)).toEqual(['http-work-pools', 'http-metrics']);
      expect(container.readinessProbe.httpGet).toMatchObject({ port: 'http' });
      expect(find('PodDisruptionBudget').spec.maxUnavailable).toBe(1);
      expect(deployment.spec.strategy.type).toBe('RollingUpdate');
    },
    image: () => expect(container.image).toBe('registry.example.com/prefect/cloud/ui:2026.11.1'),
    command: () => expect(container.command).toEqual(['/usr/local/bin/work-pools']),
    args: () => expect(container.args).toEqual(['--workers', '4']),
    port: () => {
      expect(container.ports[0]).toEqual({ name: 'http', containerPort: 9090, protocol: 'TCP' });
      expect(find('Service').spec.ports[0]).toEqual({
        name: 'http-work-pools',
        port: 9090,
        targetPort: 'http',
        protocol: 'TCP',
        appProtocol: 'http',
      });
      expect(find('AuthorizationPolicy', 'work-pools-callers').spec.rules[0].to).toEqual([{ operation: { ports: ['9090'] } }]);
    },
    metrics: () => {
      expect(deployment.spec.template.metadata.annotations).toMatchObject({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': '9102',
        'prometheus.io/path': '/prom',
      });
      // A port of their own: a container port and a Service port named for them.
      expect(container.ports[1]).toEqual({ name: 'metrics', containerPort: 9102, protocol: 'TCP' });
      expect(find('Service').spec.ports[1]).toEqual({
        name: 'http-metrics',
        port: 9102,
        targetPort: 'metrics',
        protocol: 'TCP',
        appProtocol: 'http',
      });
    },
    health: () => {
      expect(container.livenessProbe.httpGet.path).toBe('/livez');
      expect(container.startupProbe.httpGet.path).toBe('/livez');
      expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    },
    host: () => {
      expect(routeRequest(rendered, 'istio-ingress/prefect', API, '/api/me')).toMatchObject({
        kind: 'route',
        route: 'nebula',
        host: 'work-pools.prefect.svc.cluster.local',
        port: 9090,
      });
      expect(find('AuthorizationPolicy', 'work-pools-callers').spec.rules[0].from[0].source.principals).toContain(
        'cluster.local/ns/istio-ingress/sa/istio-ingressgateway',
      );
      const fromGateway = (find('NetworkPolicy').spec.ingress as Spec[]).filter(
        (rule) => rule.from[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name'] === 'istio-ingress',
      );
      expect(fromGateway).toEqual([
        {
          from: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'istio-ingress' } },
              podSelector: { matchLabels: { istio: 'ingressgateway' } },
            },
          ],
          ports: [{ protocol: 'TCP', port: 9090 }],
        },
      ]);
    },
    websockets: () => {
      const pool = find('DestinationRule').spec.trafficPolicy.connectionPool;
      expect(pool.tcp.maxConnections).toBe(CONNECTION_LIMITS.websocketConnections);
      expect(pool.http.h2UpgradePolicy).toBe('DO_NOT_UPGRADE');
    },
    databases: () => {
      expect(env).toEqual(expect.arrayContaining(['EVENTS_DATABASE_PASSWORD', 'NEBULA_DATABASE_PASSWORD']));
      expect(env).not.toContain('ORION_DATABASE_PASSWORD');
    },
    redis: () => {
      expect(env).toEqual(expect.arrayContaining(['REDIS_CACHE_PASSWORD', 'REDIS_STREAMS_PASSWORD']));
      expect(env).not.toContain('REDIS_WORK_PASSWORD');
    },
    replicas: () => {
      expect(find('HorizontalPodAutoscaler').spec.minReplicas).toBe(3);
      expect(deployment.spec.replicas).toBeUndefined();
    },
    maxReplicas: () => expect(find('HorizontalPodAutoscaler').spec.maxReplicas).toBe(9),
    resources: () =>
      expect(container.resources).toEqual({ requests: { cpu: '300m', memory: '768Mi' }, limits: { cpu: '2', memory: '1536Mi' } }),
    env: () => expect(container.env).toContainEqual({ name: 'PREFECT_LOGGING_LEVEL', value: 'DEBUG' }),
    backlog: () => {
      // Used with autoscaling.backlog: a ScaledObject on the group's lag in place of the HPA.
      const scaled = buildVariant('prod', {
        prefect: { services: { 'work-pools': full, nebula: { host: 'internal' } } },
        routes: { overrides: { nebula: { backend: 'work-pools' } } },
        cluster: { memoryPerNode: '32Gi' },
        autoscaling: { backlog: true },
      });
      const scaledObject = findObject(scaled, 'ScaledObject', 'work-pools', 'prefect').spec as Spec;
      expect(scaledObject.triggers[0]).toMatchObject({
        type: 'redis-streams',
        metadata: { stream: 'work-pool-events', consumerGroup: 'work-pools', address: 'redis-streams.prefect-data.svc:6379' },
      });
      expect(
        scaled.objects.filter(({ object }) => object.kind === 'HorizontalPodAutoscaler' && object.metadata.name === 'work-pools'),
      ).toEqual([]);
    },
    egress: () => {
      // The list replaces the catalog's (HTTPS to the internet): only the range written.
      expect(ipBlockRules(find('NetworkPolicy'))).toEqual([
        { to: [{ ipBlock: { cidr: '198.51.100.0/24', except: ['198.51.100.128/25'] } }], ports: [{ protocol: 'TCP', port: 8443 }] },
      ]);
    },
  };

  it('names every field of a catalog entry', () => {
    expect(sameFields).toBe(true);
    expect(Object.keys(reaches).sort()).toEqual(Object.keys(full).sort());
  });

  it.each(Object.keys(reaches) as Array<keyof typeof full>)('%s reaches the manifest', (field) => {
    reaches[field]();
  });

  it('routes nothing to the service that became internal', () => {
    const gateway = 'cluster.local/ns/istio-ingress/sa/istio-ingressgateway';
    expect(
      (findObject(rendered, 'AuthorizationPolicy', 'nebula-callers', 'prefect').spec as Spec).rules[0].from[0].source.principals,
    ).not.toContain(gateway);
    expect(() => findObject(rendered, 'DestinationRule', 'nebula', 'prefect')).toThrow('found 0');
  });
});

describe('a new web service with host internal', () => {
  const internal = {
    type: 'web',
    image: 'server',
    command: ['prefect-cloud'],
    args: ['serve', 'reports'],
    port: 8080,
    health: { liveness: '/api/health', readiness: '/api/ready' },
    databases: ['orion'],
    redis: [],
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
  };

  it('is not routed, and the gateway cannot reach it; the other services can', () => {
    const rendered = buildVariant('prod', { prefect: { services: { reports: { ...internal, host: 'internal' } } } });
    const virtualServices = rendered.objects
      .filter(({ object }) => object.kind === 'VirtualService')
      .map(({ object }) => JSON.stringify(object.spec));
    expect(virtualServices.filter((text) => text.includes('reports.prefect'))).toEqual([]);
    expect(() => findObject(rendered, 'DestinationRule', 'reports', 'prefect')).toThrow('found 0');
    const policy = findObject(rendered, 'NetworkPolicy', 'reports', 'prefect').spec as Spec;
    const peers = (policy.ingress as Spec[]).map((rule) => rule.from[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name']);
    expect(new Set(peers)).toEqual(new Set(['prefect']));
    const callers = (findObject(rendered, 'AuthorizationPolicy', 'reports-callers', 'prefect').spec as Spec).rules[0].from[0].source
      .principals;
    expect(callers).toContain('cluster.local/ns/prefect/sa/nebula');
    expect(callers).not.toContain('cluster.local/ns/istio-ingress/sa/istio-ingressgateway');
    expect((findObject(rendered, 'Service', 'reports', 'prefect').spec as Spec).ports).toEqual([expect.objectContaining({ port: 8080 })]);
  });

  it('fails synthesis when it is public (host api) but no route leads to it', () => {
    expect(() => buildVariant('prod', { prefect: { services: { reports: { ...internal, host: 'api' } } } })).toThrow(
      'service "reports": expected a route on the api host (catalog host: api); add one, or mark it internal (prefect.services.reports.host: internal)',
    );
  });
});

describe('Prefect services', () => {
  const { find, none, config, data, objects, chart } = synthPrefect();
  const catalog = resolveCatalog(config);

  it('serve their metrics where the monitoring page says: /metrics of every API service, auth on 4300', () => {
    const auth = find('Service', 'auth').spec;
    expect(auth.ports).toEqual([{ name: 'http-auth', port: 4300, targetPort: 'http', protocol: 'TCP', appProtocol: 'http' }]);
    expect(find('Deployment', 'auth').spec.template.spec.containers[0].ports).toEqual([
      { name: 'http', containerPort: 4300, protocol: 'TCP' },
    ]);
    for (const service of catalog.filter((entry) => entry.type === 'web')) {
      const annotations = find('Deployment', service.name).spec.template.metadata.annotations;
      if (service.image === 'ui') {
        expect(annotations['prometheus.io/scrape'], 'the UI serves the browser application').toBeUndefined();
        continue;
      }
      expect(annotations, service.name).toMatchObject({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(service.port),
        'prometheus.io/path': '/metrics',
      });
    }
    for (const service of catalog.filter((entry) => entry.type !== 'web')) {
      const workload = find(workloadKind(service), service.name).spec;
      expect(workload.template.metadata.annotations['prometheus.io/scrape'], service.name).toBeUndefined();
    }
  });

  it.each(catalog.map((service) => [service.name, service] as const))('%s: every catalog field reaches the manifest', (name, service) => {
    const workload = find(workloadKind(service), name).spec;
    const pod = workload.template.spec;
    const container = pod.containers[0];
    expect(container.image).toBe(`registry.example.com/prefect/cloud/${service.image}:2026.11.1`);
    expect(container.command ?? []).toEqual(service.command);
    expect(container.args ?? []).toEqual(service.args);
    expect(container.resources.requests).toEqual(service.resources.requests);
    expect(container.resources.limits).toEqual(service.resources.limits);
    expect(pod.serviceAccountName).toBe(name);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.imagePullSecrets).toEqual([{ name: 'pull-secret-of-prefect' }]);
    expect(pod.priorityClassName).toBe('prefect-services');
    expect(workload.template.metadata.annotations['prefect-cdk8s.io/secrets-revision']).toBe('7');
    expect(find('ServiceAccount', name).automountServiceAccountToken).toBe(false);
    expect(container.env).toContainEqual({ name: 'CLOUD_API_URL', value: 'https://api.prefect.example.com' });
    expect(container.env).toContainEqual({ name: 'CLOUD_UI_URL', value: 'https://app.prefect.example.com' });
    for (const database of service.databases) expect(data.grants).toContain(`${name} db:${database}`);
    for (const role of service.redis) {
      const instance = redisInstanceFor(SHARED_REDIS_ROLES, role);
      expect(data.grants).toContain(`${name} redis:${instance}${instance === role ? '' : ` as ${role}`}`);
    }
    expect(data.grants.filter((grant) => grant.startsWith(`${name} `))).toHaveLength(service.databases.length + service.redis.length);
    const zones = pod.topologySpreadConstraints.map((constraint: { topologyKey: string }) => constraint.topologyKey);
    expect(zones).toEqual(['topology.kubernetes.io/zone', 'kubernetes.io/hostname']);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.lifecycle.preStop.exec.command[0]).toBe('sleep');
    expect(ipBlockRules(find('NetworkPolicy', name))).toEqual(
      service.egress.map((rule) => ({
        to: [{ ipBlock: { cidr: rule.cidr, except: rule.except } }],
        ports: rule.ports.map((port) => ({ protocol: 'TCP', port })),
      })),
    );

    if (service.type === 'web') {
      expect(container.ports).toEqual([{ name: 'http', containerPort: service.port, protocol: 'TCP' }]);
      expect(container.readinessProbe.httpGet.path).toBe(service.health?.readiness);
      expect(container.livenessProbe.httpGet.path).toBe(service.health?.liveness);
      expect(container.startupProbe.httpGet.path).toBe(service.health?.liveness);
      const port = find('Service', name).spec.ports[0];
      expect(port).toMatchObject({ name: `http-${name}`, port: service.port, appProtocol: 'http', targetPort: 'http' });
    } else {
      expect(container.ports).toBeUndefined();
      expect(none('Service', name)).toEqual([]);
    }
    if (service.type === 'loop') {
      expect(none('Deployment', name)).toEqual([]);
      expect([...none('HorizontalPodAutoscaler', name), ...none('PodDisruptionBudget', name)]).toEqual([]);
    } else {
      // The HPA owns the count: a replica count in the manifest would make Flux undo its scaling.
      expect(workload.replicas).toBeUndefined();
      expect(find('HorizontalPodAutoscaler', name).spec).toMatchObject({
        minReplicas: service.replicas,
        maxReplicas: service.maxReplicas,
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
      });
      expect(find('PodDisruptionBudget', name).spec).toMatchObject({ maxUnavailable: 1, unhealthyPodEvictionPolicy: 'AlwaysAllow' });
      expect(workload.strategy.rollingUpdate.maxUnavailable).toBe(0);
      expect(none('StatefulSet', name)).toEqual([]);
    }
  });

  it('runs a loop service as a StatefulSet of exactly one pod, which is never started twice', () => {
    const loops = catalog.filter((service) => service.type === 'loop');
    expect(loops.map((service) => service.name)).toEqual(['triggers-proactive']);
    const statefulSet = find('StatefulSet', 'triggers-proactive');
    expect(statefulSet.spec).toMatchObject({
      replicas: 1,
      serviceName: 'triggers-proactive-headless',
      podManagementPolicy: 'Parallel',
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      selector: { matchLabels: { 'app.kubernetes.io/name': 'triggers-proactive', 'app.kubernetes.io/instance': 'prefect-prod' } },
    });
    expect(statefulSet.spec.volumeClaimTemplates).toBeUndefined();
    expect(statefulSet.metadata.labels?.['app.kubernetes.io/component']).toBe('loop');
    expect(statefulSet.spec.template.metadata.labels['app.kubernetes.io/component']).toBe('loop');
    // The governing Service: headless, no ports (nobody connects), selecting exactly the pod.
    expect(find('Service', 'triggers-proactive-headless').spec).toEqual({
      clusterIP: 'None',
      selector: statefulSet.spec.selector.matchLabels,
    });
  });

  it('gives every service a writable HOME and PREFECT_HOME on its emptyDir, unless its env sets them', () => {
    for (const service of catalog) {
      const env = containerOf(find(workloadKind(service), service.name)).env;
      expect(env.slice(0, 2), service.name).toEqual([
        { name: 'HOME', value: '/tmp' },
        { name: 'PREFECT_HOME', value: '/tmp/prefect' },
      ]);
    }
    const text = variantText('prod', { prefect: { services: { ladler: { env: { PREFECT_HOME: '/tmp/ladler' } } } } });
    const env = containerOf(synthPrefect(text).find('Deployment', 'ladler')).env as Array<{ name: string; value?: string }>;
    expect(env.filter((entry) => entry.name.endsWith('HOME'))).toEqual([
      { name: 'HOME', value: '/tmp' },
      { name: 'PREFECT_HOME', value: '/tmp/ladler' },
    ]);
  });

  it('lets every service call every web service, by its pods and by its identity', () => {
    const web = catalog.filter((service) => service.type === 'web');
    // The routed services admit the ingress gateway too (all of the default web services are routed).
    const principals = [
      ...catalog.map((service) => `cluster.local/ns/prefect/sa/${service.name}`),
      'cluster.local/ns/istio-ingress/sa/istio-ingressgateway',
    ].sort();
    for (const service of web) {
      const policy = find('AuthorizationPolicy', `${service.name}-callers`);
      expect(policy.metadata.labels?.['app.kubernetes.io/component']).toBe('authorization');
      expect(policy.spec).toEqual({
        action: 'ALLOW',
        selector: { matchLabels: { 'app.kubernetes.io/name': service.name, 'app.kubernetes.io/instance': 'prefect-prod' } },
        rules: [{ from: [{ source: { principals } }], to: [{ operation: { ports: [String(service.port)] } }] }],
      });
      const fromServices = (find('NetworkPolicy', service.name).spec.ingress as Spec[]).filter(
        (rule) => rule.from[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name'] === 'prefect',
      );
      expect(fromServices.map((rule) => rule.from[0].podSelector.matchLabels['app.kubernetes.io/name']).sort()).toEqual(
        catalog.map((entry) => entry.name).sort(),
      );
    }
    for (const client of catalog) {
      const egress = (find('NetworkPolicy', client.name).spec.egress as Spec[]).filter(
        (rule) => rule.to?.[0]?.podSelector?.matchLabels?.['app.kubernetes.io/instance'] === 'prefect-prod',
      );
      expect(egress.map((rule) => rule.to[0].podSelector.matchLabels['app.kubernetes.io/name']).sort(), client.name).toEqual(
        web.map((service) => service.name).sort(),
      );
    }
    expect(
      objects
        .filter((object) => object.kind === 'AuthorizationPolicy')
        .map((object) => object.metadata.name)
        .sort(),
    ).toEqual(web.map((service) => `${service.name}-callers`).sort());
  });

  it('fails to let a client call a service that serves no HTTP', () => {
    const [ui] = chart.services;
    const loop = chart.services.find((service) => service.definition.type === 'loop');
    expect(() => loop?.allowFrom(ui as DataClient)).toThrow(
      'service triggers-proactive: only web services accept calls (type is loop); ui cannot be allowed to call it',
    );
  });

  it('runs at least two replicas of every stateless web service in prod', () => {
    for (const service of catalog.filter((entry) => entry.type === 'web'))
      expect(find('HorizontalPodAutoscaler', service.name).spec.minReplicas).toBeGreaterThanOrEqual(2);
  });

  it('throws on a duplicate environment variable', () => {
    const [service] = synthPrefect().chart.services;
    expect(() => service?.addEnv('CLOUD_API_URL', { value: 'x' })).toThrow('environment variable CLOUD_API_URL is set twice');
  });
});
