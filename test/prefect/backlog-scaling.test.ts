import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/config/load';
import type { KubernetesObject } from '../../lib/output/render';
import { buildVariant } from '../config-variants';
import { build, findObject, objectsOfKind } from '../helpers';

/*
 * autoscaling.backlog: KEDA ScaledObjects on the consumer groups' lag replace the CPU HPAs of the
 * services that name their streams (the open-source catalog's background services; a
 * Customer-Managed service where the configuration names them), KEDA is installed with its
 * operator in the mesh, and the Redis instance admits it. The names themselves are checked on a
 * real Prefect server (test/real-tools/prefect-server.test.ts).
 */

type Spec = Record<string, any>;
const specOf = (object: KubernetesObject) => object.spec as Spec;

describe('scaling on the backlog, open-source edition (config/oss.yaml)', () => {
  const oss = build('oss');

  it('replaces the background services’ HPA by a ScaledObject on each consumer group of the catalog, and CPU', () => {
    expect(objectsOfKind(oss, 'HorizontalPodAutoscaler').map((hpa) => hpa.metadata.name)).toEqual(['api']);
    const scaled = specOf(findObject(oss, 'ScaledObject', 'background', 'prefect'));
    expect(scaled.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'background' });
    // The same bounds as the HPA had (capacity and PostgreSQL's connection budget are sized for them).
    expect([scaled.minReplicaCount, scaled.maxReplicaCount]).toEqual([2, 4]);
    expect(
      scaled.triggers.map((trigger: Spec) => `${trigger.type} ${trigger.metadata.stream ?? ''}/${trigger.metadata.consumerGroup ?? ''}`),
    ).toEqual([
      'redis-streams events/event-persister',
      'redis-streams events/reactive-triggers',
      'redis-streams events/task-run-recorder',
      'redis-streams actions/actions',
      'cpu /',
    ]);
    for (const trigger of scaled.triggers.slice(0, 4)) {
      expect(trigger.metadata).toMatchObject({ address: 'redis-messaging.prefect-data.svc:6379', lagCount: '100' });
      expect(trigger.authenticationRef).toEqual({ name: 'redis-messaging' });
    }
    // It takes over the HPA of the same name that an earlier output applied.
    expect(findObject(oss, 'ScaledObject', 'background', 'prefect').metadata.annotations).toMatchObject({
      'scaledobject.keda.sh/transfer-hpa-ownership': 'true',
    });
    expect(scaled.advanced.horizontalPodAutoscalerConfig.name).toBe('background');
    expect(specOf(findObject(oss, 'TriggerAuthentication', 'redis-messaging', 'prefect')).secretTargetRef).toEqual([
      { parameter: 'password', name: 'prefect-redis-messaging', key: 'password' },
    ]);
  });

  it('installs KEDA after istiod, with only its operator in the mesh', () => {
    const release = specOf(findObject(oss, 'HelmRelease', 'keda', 'flux-system'));
    expect(release.chart.spec).toMatchObject({ chart: 'keda', version: '2.20.2' });
    expect(release.targetNamespace).toBe('keda');
    expect(release.dependsOn).toEqual([{ name: 'istiod', namespace: 'flux-system' }]);
    expect(release.values.podLabels).toEqual({ keda: { 'sidecar.istio.io/inject': 'true' } });
    expect(release.values.podLabels.metricsAdapter).toBeUndefined();
  });

  it('admits the operator’s mesh identity and pods to the messaging instance, on its port only', () => {
    const principals = specOf(findObject(oss, 'AuthorizationPolicy', 'redis-messaging', 'prefect-data')).rules[0].from[0].source.principals;
    expect(principals).toContain('cluster.local/ns/keda/sa/keda-operator');
    const ingress = specOf(findObject(oss, 'NetworkPolicy', 'redis-messaging', 'prefect-data')).ingress as Spec[];
    const fromKeda = ingress.filter((rule) => rule.from[0].namespaceSelector.matchLabels['kubernetes.io/metadata.name'] === 'keda');
    expect(fromKeda).toEqual([
      {
        from: [
          {
            namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'keda' } },
            podSelector: { matchLabels: { app: 'keda-operator' } },
          },
        ],
        ports: [{ port: 6379, protocol: 'TCP' }],
      },
    ]);
  });

  it('counts the ScaledObject’s maximum and KEDA’s pods (the operator with its sidecar) in the capacity check', () => {
    const workloads = buildVariant('oss', {}).capacity.workloads;
    expect(workloads.find((workload) => workload.name === 'background')).toMatchObject({ minReplicas: 2, maxReplicas: 4 });
    const operator = workloads.find((workload) => workload.name === 'keda-operator');
    expect(operator?.namespace).toBe('keda');
    // 50m and the sidecar's 100m.
    expect(operator?.cpu).toBeCloseTo(0.15, 9);
    expect(
      workloads
        .filter((workload) => workload.namespace === 'keda')
        .map((workload) => workload.name)
        .sort(),
    ).toEqual(['keda-admission-webhooks', 'keda-operator', 'keda-operator-metrics-apiserver']);
  });

  it('keeps the CPU HPA without autoscaling.backlog, and KEDA out', () => {
    const off = buildVariant('oss', { autoscaling: { backlog: false } });
    expect(objectsOfKind(off, 'ScaledObject')).toEqual([]);
    expect(
      objectsOfKind(off, 'HorizontalPodAutoscaler')
        .map((hpa) => hpa.metadata.name)
        .sort(),
    ).toEqual(['api', 'background']);
    expect(objectsOfKind(off, 'HelmRelease').map((release) => release.metadata.name)).not.toContain('keda');
  });

  it('with KEDA brought by the cluster: the ScaledObject, no release', () => {
    const brought = buildVariant('oss', { autoscaling: { installKeda: false } });
    expect(objectsOfKind(brought, 'ScaledObject')).toHaveLength(1);
    expect(objectsOfKind(brought, 'HelmRelease').map((release) => release.metadata.name)).not.toContain('keda');
  });
});

describe('scaling on the backlog, Customer-Managed', () => {
  it('scales the services whose streams the configuration names, on the streams instance; the others on CPU', () => {
    const prod = buildVariant('prod', {
      autoscaling: { backlog: true, lagPerReplica: 500 },
      prefect: { services: { 'triggers-reactive': { backlog: [{ stream: 'events', group: 'reactive-triggers' }] } } },
    });
    const scaled = specOf(findObject(prod, 'ScaledObject', 'triggers-reactive', 'prefect'));
    expect(scaled.triggers[0].metadata).toEqual({
      address: 'redis-streams.prefect-data.svc:6379',
      stream: 'events',
      consumerGroup: 'reactive-triggers',
      lagCount: '500',
    });
    expect(objectsOfKind(prod, 'ScaledObject')).toHaveLength(1);
    expect(objectsOfKind(prod, 'HorizontalPodAutoscaler').map((hpa) => hpa.metadata.name)).toContain('ladler');
    const principals = specOf(findObject(prod, 'AuthorizationPolicy', 'redis-streams', 'prefect-data')).rules[0].from[0].source.principals;
    expect(principals).toContain('cluster.local/ns/keda/sa/keda-operator');
    // The other instances do not admit KEDA.
    const cache = specOf(findObject(prod, 'AuthorizationPolicy', 'redis-cache', 'prefect-data')).rules[0].from[0].source.principals;
    expect(cache).not.toContain('cluster.local/ns/keda/sa/keda-operator');
  });

  it('refuses backlog on a service that reads no stream, naming the field', () => {
    expect(() =>
      buildVariant('prod', {
        autoscaling: { backlog: true },
        prefect: { services: { auth: { backlog: [{ stream: 'events', group: 'auth' }] } } },
      }),
    ).toThrow(ConfigError);
    try {
      buildVariant('prod', {
        autoscaling: { backlog: true },
        prefect: { services: { auth: { backlog: [{ stream: 'events', group: 'auth' }] } } },
      });
    } catch (error) {
      expect(String((error as Error).message)).toMatch(
        /prefect\.services\.auth\.backlog: expected only on a service that reads the streams or messaging Redis instance/,
      );
    }
  });
});
