import { describe, expect, it } from 'vitest';
import { allocatable, CapacityError, capacityReport, formatCapacity, podRequests, workloadDemands } from '../../lib/validation/capacity';
import type { KubernetesObject } from '../../lib/output/render';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BuiltEnvironment } from '../../lib/app/synthesize';
import { buildFromText, loadEnvironment, PROJECT_ROOT } from '../helpers';
import { buildVariant, VARIANTS } from '../config-variants';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

function deployment(
  name: string,
  replicas: number,
  cpu: string,
  memory: string,
  extra: Record<string, unknown> = {},
): { layer: string; object: KubernetesObject } {
  return {
    layer: 'prefect',
    object: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: 'prefect' },
      spec: {
        replicas,
        template: { metadata: { labels: {} }, spec: { containers: [{ name, resources: { requests: { cpu, memory } } }], ...extra } },
      },
    },
  };
}

describe('capacity', () => {
  it('reserves what the kubelet reserves on a 16 vCPU / 24 GiB node', () => {
    const node = allocatable(16, 24 * GiB);
    // CPU: 0.06 + 0.01 + 2 × 0.005 + 12 × 0.0025 = 0.11 cores; memory: 1 + 0.8 + 0.8 + 0.48 GiB + 100 MiB.
    expect(node.cpu).toBeCloseTo(15.89, 5);
    expect(node.memory).toBeCloseTo(24 * GiB - 3.08 * GiB - 100 * MiB, -3);
  });

  it('counts the sidecar of injected pods, and not of pods that opt out', () => {
    const template = { metadata: { labels: {} }, spec: { containers: [{ resources: { requests: { cpu: '500m', memory: '1Gi' } } }] } };
    expect(podRequests(template, true)).toEqual({ cpu: 0.6, memory: GiB + 128 * MiB });
    expect(podRequests(template, false)).toEqual({ cpu: 0.5, memory: GiB });
    expect(podRequests({ ...template, metadata: { labels: { 'sidecar.istio.io/inject': 'false' } } }, true)).toEqual({
      cpu: 0.5,
      memory: GiB,
    });
  });

  it('takes the largest init container when it exceeds the app containers', () => {
    const template = {
      spec: {
        containers: [{ resources: { requests: { cpu: '100m', memory: '64Mi' } } }],
        initContainers: [{ resources: { requests: { cpu: '1', memory: '32Mi' } } }],
      },
    };
    expect(podRequests(template, false)).toEqual({ cpu: 1, memory: 64 * MiB });
  });

  it('counts replicas at the HPA minimum and maximum', () => {
    const hpa = {
      layer: 'prefect',
      object: {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'web', namespace: 'prefect' },
        spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, minReplicas: 2, maxReplicas: 5 },
      },
    };
    const [web] = workloadDemands([deployment('web', 2, '1', '1Gi'), hpa], { injectedNamespaces: new Set(), platformWorkloads: [] });
    expect(web).toMatchObject({ name: 'web', minReplicas: 2, maxReplicas: 5, cpu: 1, memory: GiB });
  });

  it('counts an autoscaled Deployment without spec.replicas at its HPA, and a StatefulSet at its replicas', () => {
    const hpa = {
      layer: 'prefect',
      object: {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'web', namespace: 'prefect' },
        spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 3, maxReplicas: 7 },
      },
    };
    const web = deployment('web', 1, '1', '1Gi');
    delete (web.object.spec as { replicas?: number }).replicas;
    const loop = deployment('loop', 1, '250m', '512Mi');
    const singleton = { layer: 'prefect', object: { ...loop.object, kind: 'StatefulSet' } };
    const demands = workloadDemands([web, hpa, singleton], { injectedNamespaces: new Set(), platformWorkloads: [] });
    expect(demands).toEqual([
      expect.objectContaining({ kind: 'Deployment', name: 'web', minReplicas: 3, maxReplicas: 7 }),
      expect.objectContaining({ kind: 'StatefulSet', name: 'loop', minReplicas: 1, maxReplicas: 1, cpu: 0.25, memory: 512 * MiB }),
    ]);
    // Without its HPA, an unset spec.replicas is the API's default: one pod.
    expect(workloadDemands([web], { injectedNamespaces: new Set(), platformWorkloads: [] })[0]).toMatchObject({
      minReplicas: 1,
      maxReplicas: 1,
    });
  });

  it('fails on a pool too small with one node lost, with the table in the message', () => {
    const prod = loadEnvironment('prod');
    const config = { ...prod, cluster: { ...prod.cluster, nodes: 3, cpuPerNode: '4', memoryPerNode: '8Gi', zones: [] } };
    const workloads = workloadDemands([deployment('big', 3, '2', '5Gi')], { injectedNamespaces: new Set(), platformWorkloads: [] });
    const report = capacityReport(config, workloads);
    expect(report.fits).toBe(false);
    expect(report.survivingNodes).toBe(2);
    const error = new CapacityError(report);
    expect(error.message).toContain('does not fit on the node pool with one node lost');
    expect(error.message).toMatch(/Deployment prefect\/big\s+3\s+2\.00\s+5Gi\s+6\.00\s+15\.0 GiB/);
  });

  it('fits a small installation, and says how much headroom is left', () => {
    const config = loadEnvironment('prod');
    const report = capacityReport(
      config,
      workloadDemands([deployment('small', 2, '500m', '1Gi')], { injectedNamespaces: new Set(), platformWorkloads: [] }),
    );
    expect(report.fits).toBe(true);
    expect(formatCapacity(report)).toContain('headroom at minimum:');
  });
});

describe('capacity of a CloudNativePG cluster', () => {
  it('counts every instance, without a sidecar (the instances run outside the mesh)', () => {
    const text = fs
      .readFileSync(path.join(PROJECT_ROOT, 'config', 'prod.yaml'), 'utf8')
      .replace('postgres:\n', 'postgres:\n  provider: cloudnativepg\n  instances: 3\n')
      // CloudNativePG backs up with postgres.backup: prod's logical backup goes.
      .replace(/ {2}# A pg_dump[^\n]*\n {2}logicalBackup:\n {4}storage: [^\n]*\n/, '')
      // Three instances of prod's size beside everything else need larger nodes than prod's.
      .replace('memoryPerNode: 24Gi', 'memoryPerNode: 64Gi');
    const built = buildFromText(text, 'prod') as BuiltEnvironment;
    const cluster = built.capacity.workloads.find((workload) => workload.kind === 'Cluster');
    expect(cluster).toMatchObject({ name: 'postgres', minReplicas: 3, maxReplicas: 3, cpu: 4, memory: 8 * GiB });
  });

  it('counts the exporters beside PostgreSQL and Redis (monitoring.enabled in prod)', () => {
    const prod = buildFromText(fs.readFileSync(path.join(PROJECT_ROOT, 'config', 'prod.yaml'), 'utf8'), 'prod') as BuiltEnvironment;
    const off = buildVariant('prod', { monitoring: { enabled: false } });
    for (const name of ['postgres', 'redis-cache', 'redis-work', 'redis-streams']) {
      const withExporter = prod.capacity.workloads.find((workload) => workload.name === name);
      const without = off.capacity.workloads.find((workload) => workload.name === name);
      // postgres_exporter 20m / 48Mi, redis_exporter 10m / 32Mi.
      const [cpu, memory] = name === 'postgres' ? [0.02, 48 * 2 ** 20] : [0.01, 32 * 2 ** 20];
      expect((withExporter?.cpu ?? 0) - (without?.cpu ?? 0), name).toBeCloseTo(cpu, 6);
      expect((withExporter?.memory ?? 0) - (without?.memory ?? 0), name).toBe(memory);
    }
  });

  it("counts the Barman Cloud plugin's sidecar in every instance, and the plugin itself", () => {
    const built = buildVariant('prod', VARIANTS.cloudnativePg);
    const cluster = built.capacity.workloads.find((workload) => workload.kind === 'Cluster');
    // prod's 4 CPUs and 8Gi, and the ObjectStore's sidecar (100m, 128Mi).
    expect(cluster).toMatchObject({ name: 'postgres', minReplicas: 3, cpu: 4.1, memory: 8 * GiB + 128 * 2 ** 20 });
    expect(built.capacity.workloads.find((workload) => workload.name === 'plugin-barman-cloud')).toMatchObject({
      namespace: 'cnpg-system',
      cpu: 0.05,
      memory: 128 * 2 ** 20,
    });
  });
});

describe('capacity, pod by pod', () => {
  const prod = loadEnvironment('prod');
  const config = { ...prod, cluster: { ...prod.cluster, nodes: 3, cpuPerNode: '8', memoryPerNode: '16Gi', zones: [] } };
  const none = { injectedNamespaces: new Set<string>(), platformWorkloads: [] };

  it('fails on a pod larger than a node, even when the totals fit', () => {
    const report = capacityReport(config, workloadDemands([deployment('huge', 1, '1', '20Gi')], none));
    expect(report.fits).toBe(false);
    expect(report.problems).toEqual(['a pod of Deployment prefect/huge requests more than one node has']);
  });

  it('fails when the pods do not pack onto the surviving nodes, even when the totals fit', () => {
    // Two surviving nodes of ~12.7 GiB: three 8 GiB pods total 24 GiB (< 25.4 GiB), but only two fit.
    const report = capacityReport(config, workloadDemands([deployment('big', 3, '1', '8Gi')], none));
    expect(report.minimum.memory).toBeLessThan(report.nodeMemory * 2);
    expect(report.fits).toBe(false);
    expect(report.problems).toEqual(['no node has room left for a pod of Deployment prefect/big (pods placed largest first)']);
    expect(formatCapacity(report)).toMatch(/^does not fit: no node has room left/);
  });

  it('places pods that fit', () => {
    expect(capacityReport(config, workloadDemands([deployment('medium', 4, '1', '5Gi')], none)).problems).toEqual([]);
  });
});
