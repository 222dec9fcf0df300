import { App } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CATALOG, type DatabaseName, type RedisName } from '../lib/catalog';
import { PrefectChart, type DataServices } from '../lib/charts/prefect-chart';
import { parseConfig } from '../lib/config/load';
import type { DataClient } from '../lib/data-client';
import type { KubernetesObject } from '../lib/output/render';
import { resolveCatalog } from '../lib/service-catalog';
import { loadEnvironment } from './helpers';

/** A data layer that records the relations asked of it. */
function recordingData(): DataServices & { grants: string[] } {
  const grants: string[] = [];
  const redis = (instance: RedisName) => ({ allowFrom: (client: DataClient) => void grants.push(`${client.name} redis:${instance}`) });
  return {
    grants,
    postgres: { grantDatabase: (client: DataClient, database: DatabaseName) => void grants.push(`${client.name} db:${database}`) },
    redis: { cache: redis('cache'), work: redis('work'), streams: redis('streams') },
  };
}

function synthPrefect(configText?: string) {
  const config = configText ? parseConfig(configText, 'config/prod.yaml', 'prod') : loadEnvironment('prod');
  const data = recordingData();
  const chart = new PrefectChart(new App({ outdir: '.cdk8s.out' }), { config, data });
  const objects = chart.toJson() as KubernetesObject[];
  const find = (kind: string, name: string) => {
    const found = objects.filter((object) => object.kind === kind && object.metadata.name === name);
    if (found.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${found.length}`);
    return found[0] as KubernetesObject & { spec: any };
  };
  return { config, data, objects, find, chart };
}

const PROD_TEXT = `${require('node:fs').readFileSync(require('node:path').join(__dirname, '..', 'config', 'prod.yaml'), 'utf8')}`;

describe('the service catalog', () => {
  it('holds the services Prefect documents, with unique names', () => {
    const names = DEFAULT_CATALOG.map((service) => service.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(expect.arrayContaining(['ui', 'auth', 'nebula', 'server', 'events', 'server-background', 'work-pools', 'actions', 'ladler', 'triggers-reactive', 'triggers-proactive']));
  });

  it('raises scalable services to prefect.replicas and keeps loops at one', () => {
    const catalog = resolveCatalog(loadEnvironment('prod'));
    for (const service of catalog) {
      if (service.type === 'loop') expect([service.replicas, service.maxReplicas], service.name).toEqual([1, 1]);
      else expect(service.replicas, service.name).toBeGreaterThanOrEqual(2);
    }
  });

  it('takes overrides of every field, removes disabled services and adds new ones', () => {
    const text = PROD_TEXT.replace(
      '  replicas: 2\n',
      `  replicas: 2
  services:
    nebula:
      args: [serve, nebula, --workers, "4"]
      replicas: 3
      maxReplicas: 12
      resources: { requests: { cpu: "1", memory: 2Gi }, limits: { memory: 3Gi } }
      env: { PREFECT_LOGGING_LEVEL: DEBUG }
    work-pools:
      enabled: false
    metrics-exporter:
      type: background
      image: server
      command: [prefect-cloud]
      args: [run, metrics-exporter]
      databases: [orion]
      redis: []
      resources: { requests: { cpu: 100m, memory: 128Mi }, limits: { memory: 256Mi } }
`,
    );
    const { find, objects, data } = synthPrefect(text);
    const nebula = find('Deployment', 'nebula').spec;
    expect(nebula.replicas).toBe(3);
    expect(nebula.template.spec.containers[0].args).toEqual(['serve', 'nebula', '--workers', '4']);
    expect(nebula.template.spec.containers[0].resources).toEqual({ requests: { cpu: '1', memory: '2Gi' }, limits: { memory: '3Gi' } });
    expect(nebula.template.spec.containers[0].env).toContainEqual({ name: 'PREFECT_LOGGING_LEVEL', value: 'DEBUG' });
    expect(find('HorizontalPodAutoscaler', 'nebula').spec).toMatchObject({ minReplicas: 3, maxReplicas: 12 });
    expect(objects.filter((object) => object.metadata.name === 'work-pools')).toEqual([]);
    expect(find('Deployment', 'metrics-exporter').spec.template.spec.containers[0].args).toEqual(['run', 'metrics-exporter']);
    expect(data.grants).toContain('metrics-exporter db:orion');
  });

  it('fails on a new service without its type, image and the rest', () => {
    const text = PROD_TEXT.replace('  replicas: 2\n', '  replicas: 2\n  services:\n    exporter:\n      args: [run]\n');
    expect(() => parseConfig(text, 'config/prod.yaml', 'prod')).toThrow('config/prod.yaml: prefect.services.exporter.type: required: expected type for the new service "exporter" (it is not in the default catalog)');
  });

  it('fails on a loop service with more than one replica', () => {
    const text = PROD_TEXT.replace('  replicas: 2\n', '  replicas: 2\n  services:\n    triggers-proactive:\n      replicas: 2\n');
    expect(() => parseConfig(text, 'config/prod.yaml', 'prod')).toThrow('config/prod.yaml: prefect.services.triggers-proactive.replicas: expected 1: a loop service runs exactly one replica, got number 2');
  });
});

describe('Prefect services', () => {
  const { find, config, data, objects } = synthPrefect();
  const catalog = resolveCatalog(config);

  it.each(catalog.map((service) => [service.name, service] as const))('%s: every catalog field reaches the manifest', (name, service) => {
    const deployment = find('Deployment', name).spec;
    const pod = deployment.template.spec;
    const container = pod.containers[0];
    expect(container.image).toBe(`registry.example.com/prefect/cloud/${service.image}:2026.11.1`);
    expect(container.command ?? []).toEqual(service.command);
    expect(container.args ?? []).toEqual(service.args);
    expect(container.resources.requests).toEqual(service.resources.requests);
    expect(container.resources.limits).toEqual(service.resources.limits);
    expect(pod.serviceAccountName).toBe(name);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.imagePullSecrets).toEqual([{ name: 'prefect-registry' }]);
    expect(find('ServiceAccount', name).automountServiceAccountToken).toBe(false);
    expect(container.env).toContainEqual({ name: 'CLOUD_API_URL', value: 'https://api.prefect.example.com' });
    expect(container.env).toContainEqual({ name: 'CLOUD_UI_URL', value: 'https://app.prefect.example.com' });
    for (const database of service.databases) expect(data.grants).toContain(`${name} db:${database}`);
    for (const instance of service.redis) expect(data.grants).toContain(`${name} redis:${instance}`);
    expect(data.grants.filter((grant) => grant.startsWith(`${name} `))).toHaveLength(service.databases.length + service.redis.length);
    const zones = pod.topologySpreadConstraints.map((constraint: { topologyKey: string }) => constraint.topologyKey);
    expect(zones).toEqual(['topology.kubernetes.io/zone', 'kubernetes.io/hostname']);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(container.lifecycle.preStop.exec.command[0]).toBe('sleep');

    if (service.type === 'web') {
      expect(container.ports).toEqual([{ name: 'http', containerPort: service.port, protocol: 'TCP' }]);
      expect(container.readinessProbe.httpGet.path).toBe(service.health?.readiness);
      expect(container.livenessProbe.httpGet.path).toBe(service.health?.liveness);
      expect(container.startupProbe.httpGet.path).toBe(service.health?.liveness);
      const port = find('Service', name).spec.ports[0];
      expect(port).toMatchObject({ name: `http-${name}`, port: service.port, appProtocol: 'http', targetPort: 'http' });
    } else {
      expect(container.ports).toBeUndefined();
      expect(objects.filter((object) => object.kind === 'Service' && object.metadata.name === name)).toEqual([]);
    }
    if (service.type === 'loop') {
      expect(deployment.replicas).toBe(1);
      expect(deployment.strategy).toEqual({ type: 'Recreate' });
      expect(objects.filter((object) => ['HorizontalPodAutoscaler', 'PodDisruptionBudget'].includes(object.kind) && object.metadata.name === name)).toEqual([]);
    } else {
      expect(find('HorizontalPodAutoscaler', name).spec).toMatchObject({ minReplicas: service.replicas, maxReplicas: service.maxReplicas, scaleTargetRef: { kind: 'Deployment', name } });
      expect(find('PodDisruptionBudget', name).spec).toMatchObject({ maxUnavailable: 1, unhealthyPodEvictionPolicy: 'AlwaysAllow' });
      expect(deployment.strategy.rollingUpdate.maxUnavailable).toBe(0);
    }
  });

  it('runs at least two replicas of every stateless web service in prod', () => {
    for (const service of catalog.filter((entry) => entry.type === 'web')) expect(find('HorizontalPodAutoscaler', service.name).spec.minReplicas).toBeGreaterThanOrEqual(2);
  });

  it('throws on a duplicate environment variable', () => {
    const [service] = synthPrefect().chart.services;
    expect(() => service?.addEnv('CLOUD_API_URL', { value: 'x' })).toThrow('environment variable CLOUD_API_URL is set twice');
  });
});
