/*
 * The company settings (scheduling, images, charts, metadata, helmValues, patches) on prod, as
 * the companyCluster variant writes them: each shows in the objects it should change, the
 * result passes strict validation and the policy checks, and what cannot apply is a
 * configuration error naming its field.
 */
import { describe, expect, it } from 'vitest';
import { checkEnvironment } from '../../lib/app/synthesize';
import { ConfigError } from '../../lib/config/load';
import type { KubernetesObject } from '../../lib/core/kubernetes-object';
import { customize } from '../../lib/customize/customize';
import { mirrored } from '../../lib/customize/mirrors';
import { applyJsonPatch, mergePatch } from '../../lib/customize/patch';
import { runPolicy } from '../../lib/policy/run';
import { formatCapacity } from '../../lib/validation/capacity';
import { buildVariant, VARIANTS } from '../config-variants';
import { build, findObject, loadEnvironment, objectsOfKind, sharedValidator } from '../helpers';

type Mapping = Record<string, unknown>;
interface PodSpec {
  nodeSelector?: Record<string, string>;
  tolerations?: Mapping[];
  affinity?: Mapping;
  topologySpreadConstraints?: Mapping[];
  imagePullSecrets?: { name: string }[];
  containers: { image: string }[];
  initContainers?: { image: string }[];
}

const company = buildVariant('prod', VARIANTS.companyCluster);
const plain = build('prod');
const pod = (object: KubernetesObject) => (object.spec as { template: { spec: PodSpec; metadata: Mapping } }).template.spec;
const values = (name: string) => (findObject(company, 'HelmRelease', name, 'flux-system').spec as { values: Mapping }).values;
const MANAGED = { key: 'example.com/managed', operator: 'Exists', effect: 'NoSchedule' };
const DATABASE = { key: 'example.com/dedicated', operator: 'Equal', value: 'database', effect: 'NoSchedule' };

function refusal(changes: Record<string, unknown> | readonly Record<string, unknown>[]): readonly string[] {
  try {
    buildVariant('prod', changes);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a configuration error');
}

describe('a company cluster (the companyCluster variant of prod)', () => {
  it('passes strict validation and every policy check', () => {
    expect(checkEnvironment(company, sharedValidator())).toEqual([]);
    const report = runPolicy([{ environment: 'prod', objects: company.objects.map(({ object, file }) => ({ object, file })) }]);
    expect(report.failures).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('places PostgreSQL and each Redis on the tainted database pool, with the default toleration', () => {
    // The cache keeps nothing on disk: a Deployment; the others are StatefulSets.
    for (const [kind, name] of [
      ['StatefulSet', 'postgres'],
      ['Deployment', 'redis-cache'],
      ['StatefulSet', 'redis-work'],
      ['StatefulSet', 'redis-streams'],
    ] as const) {
      const spec = pod(findObject(company, kind, name, 'prefect-data'));
      expect(spec.nodeSelector, name).toMatchObject({ 'example.com/pool': 'database' });
      expect(spec.tolerations, name).toEqual(expect.arrayContaining([MANAGED, DATABASE]));
    }
  });

  it('puts the consumers on spot nodes by their type, and leaves the other services off that pool', () => {
    for (const deployment of objectsOfKind(company, 'Deployment').filter((object) => object.metadata.namespace === 'prefect')) {
      const consumer = deployment.metadata.labels?.['app.kubernetes.io/component'] === 'consumer';
      const spec = pod(deployment);
      expect(spec.nodeSelector?.['example.com/pool'], deployment.metadata.name).toBe(consumer ? 'spot' : undefined);
      expect(spec.tolerations, deployment.metadata.name).toContainEqual(MANAGED);
    }
    expect(
      objectsOfKind(company, 'Deployment').filter((object) => pod(object).nodeSelector?.['example.com/pool'] === 'spot').length,
    ).toBeGreaterThan(0);
  });

  it("gives one service a node affinity and more spread, keeping the project's own spread and pod anti-affinity", () => {
    const server = findObject(company, 'Deployment', 'server', 'prefect');
    const before = pod(findObject(plain, 'Deployment', 'server', 'prefect'));
    const spec = pod(server);
    expect(spec.affinity?.nodeAffinity).toEqual(VARIANTS.companyCluster.scheduling.workloads.server.nodeAffinity);
    if (before.affinity?.podAntiAffinity) expect(spec.affinity?.podAntiAffinity).toEqual(before.affinity.podAntiAffinity);
    const selector = (server.spec as { selector: { matchLabels: Mapping } }).selector.matchLabels;
    expect(spec.topologySpreadConstraints).toEqual([
      ...(before.topologySpreadConstraints ?? []),
      { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: selector } },
    ]);
  });

  it('places the migration Jobs by their group, and the init Jobs by the default only', () => {
    const jobs = objectsOfKind(company, 'Job');
    const migrations = jobs.filter((job) => job.metadata.name.startsWith('migrate-'));
    const inits = jobs.filter((job) => job.metadata.name.startsWith('postgres-init-'));
    expect(migrations.length).toBeGreaterThan(0);
    expect(inits.length).toBeGreaterThan(0);
    for (const job of migrations) expect(pod(job).nodeSelector, job.metadata.name).toEqual({ 'example.com/pool': 'general' });
    for (const job of inits) {
      expect(pod(job).nodeSelector, job.metadata.name).toBeUndefined();
      expect(pod(job).tolerations, job.metadata.name).toContainEqual(MANAGED);
    }
  });

  it('places the backup CronJob by its group, under jobs', () => {
    const backup = buildVariant('prod', [
      VARIANTS.companyCluster,
      { scheduling: { workloads: { 'postgres-backup': { nodeSelector: { 'example.com/pool': 'database' }, tolerations: [DATABASE] } } } },
    ]);
    const cronJob = findObject(backup, 'CronJob', 'postgres-backup', 'prefect-data');
    const spec = (cronJob.spec as { jobTemplate: { spec: { template: { spec: PodSpec } } } }).jobTemplate.spec.template.spec;
    expect(spec.nodeSelector).toEqual({ 'example.com/pool': 'database' });
    expect(spec.tolerations).toEqual([MANAGED, DATABASE]);
    expect(spec.containers[0]?.image).toBe('harbor.example.com/dockerhub/library/postgres:17.6');
  });

  it('pulls every image of a mirrored registry through the mirror, with the pull secret beside the existing one', () => {
    const images = company.objects.flatMap(({ object }) => {
      const template = (object.spec as { template?: { spec?: PodSpec } } | undefined)?.template?.spec;
      return template ? [...(template.initContainers ?? []), ...template.containers].map((container) => container.image) : [];
    });
    expect(images.length).toBeGreaterThan(20);
    expect(images.filter((image) => /^(docker\.io|quay\.io|registry\.k8s\.io)\//.test(image))).toEqual([]);
    expect(images).toContain('harbor.example.com/dockerhub/library/redis:7.4.6');
    expect(images).toContain('harbor.example.com/k8s/kubectl:v1.34.4');
    // The Prefect images come from prefect.image.registry, which no mirror names.
    expect(images).toContain('registry.example.com/prefect/cloud/server:2026.11.1');
    expect(pod(findObject(company, 'Deployment', 'server', 'prefect')).imagePullSecrets).toEqual([
      { name: 'prefect-registry' },
      { name: 'harbor-pull' },
    ]);
    expect(pod(findObject(company, 'StatefulSet', 'postgres', 'prefect-data')).imagePullSecrets).toEqual([{ name: 'harbor-pull' }]);
  });

  it('points the platform charts at the mirror and schedules their pods through their values', () => {
    expect(values('istiod')).toMatchObject({
      global: { hub: 'harbor.example.com/dockerhub/istio', imagePullSecrets: ['harbor-pull'] },
      tolerations: [MANAGED],
      env: { PILOT_ENABLE_STATUS: 'true' },
    });
    expect(values('istio-cni')).toMatchObject({ global: { hub: 'harbor.example.com/dockerhub/istio' } });
    expect(values('istio-cni').tolerations).toBeUndefined();
    expect(values('istio-ingressgateway')).toMatchObject({
      nodeSelector: { 'example.com/pool': 'ingress' },
      imagePullSecrets: [{ name: 'harbor-pull' }],
      podAnnotations: { 'example.com/owner': 'edge' },
    });
    const certManager = values('cert-manager');
    expect(certManager).toMatchObject({
      imageRegistry: 'harbor.example.com/quay',
      global: { imagePullSecrets: [{ name: 'harbor-pull' }] },
    });
    for (const component of [certManager, certManager.webhook, certManager.cainjector, certManager.startupapicheck] as Mapping[]) {
      expect(component.nodeSelector).toEqual({ 'example.com/pool': 'system' });
    }
    // The generated values are still there under the added ones.
    expect((certManager.webhook as Mapping).resources).toEqual((values('cert-manager').webhook as Mapping).resources);
    expect(values('trust-manager')).toMatchObject({
      imageRegistry: 'harbor.example.com/quay',
      imagePullSecrets: [{ name: 'harbor-pull' }],
      commonLabels: { 'example.com/cost-center': 'cc-1234' },
      commonAnnotations: { 'example.com/team': 'platform' },
    });
    // The charts that label everything they create get the common labels.
    expect(certManager.global).toMatchObject({ commonLabels: { 'example.com/cost-center': 'cc-1234' } });
  });

  it('reads the Istio charts from an OCI registry and cert-manager’s from another repository', () => {
    expect(findObject(company, 'HelmRepository', 'istio', 'flux-system').spec).toMatchObject({
      url: 'oci://harbor.example.com/charts/istio',
      type: 'oci',
      secretRef: { name: 'harbor-charts' },
    });
    const jetstack = findObject(company, 'HelmRepository', 'jetstack', 'flux-system').spec as Mapping;
    expect(jetstack.url).toBe('https://artifactory.example.com/artifactory/api/helm/jetstack');
    expect(jetstack.type).toBeUndefined();
  });

  it('labels and annotates every object and pod template, never over the project’s own labels or selectors', () => {
    for (const { object } of company.objects) {
      expect(object.metadata.labels?.['example.com/cost-center'], `${object.kind} ${object.metadata.name}`).toBe('cc-1234');
      expect(object.metadata.annotations?.['example.com/team'], `${object.kind} ${object.metadata.name}`).toBe('platform');
    }
    const before = findObject(plain, 'Deployment', 'server', 'prefect');
    const after = findObject(company, 'Deployment', 'server', 'prefect');
    const { ['example.com/cost-center']: added, ...rest } = after.metadata.labels ?? {};
    expect(added).toBe('cc-1234');
    expect(rest).toEqual(before.metadata.labels);
    expect((after.spec as Mapping).selector).toEqual((before.spec as Mapping).selector);
    expect((after.spec as { template: { metadata: { labels: Mapping } } }).template.metadata.labels['example.com/cost-center']).toBe(
      'cc-1234',
    );
  });

  it('applies the patches, a merge patch and a JSON patch, after everything else', () => {
    const server = findObject(company, 'Deployment', 'server', 'prefect');
    expect((server.spec as { template: { metadata: { annotations: Mapping } } }).template.metadata.annotations).toMatchObject({
      'example.com/patched': 'merge',
      'example.com/team': 'platform',
    });
    expect(findObject(company, 'Service', 'ui', 'prefect').metadata.annotations).toMatchObject({ 'example.com/patched': 'json' });
  });

  it('changes nothing when no company setting is used', () => {
    const config = loadEnvironment('prod');
    const objects = plain.objects.map(({ layer, object }) => ({ layer, object }));
    const customized = customize(objects, config);
    expect(customized.map(({ object }) => object)).toEqual(objects.map(({ object }) => object));
  });
});

describe('the capacity check on several node pools', () => {
  const pools = VARIANTS.companyCluster.cluster.pools;
  /** The problems of the companyCluster variant with other pools (or other changes). */
  const refusedWith = (changes: Record<string, unknown>) => refusal([VARIANTS.companyCluster, changes]);
  const poolsWith = (name: string, change: Record<string, unknown>) => ({
    cluster: { pools: pools.map((pool) => (pool.name === name ? { ...pool, ...change } : pool)) },
  });

  it('places every pod on a pool that admits it, and reports each pool', () => {
    const report = company.capacity;
    expect(report.fits).toBe(true);
    expect(report.pools.map((pool) => pool.name)).toEqual(['cluster', 'database', 'spot', 'ingress', 'system']);
    const placed = Object.fromEntries(report.pools.map((pool) => [pool.name, pool.placed.memory]));
    // PostgreSQL and the Redis instances (tainted pool, tolerated) are on the database pool: more than 8 GiB there.
    expect(placed.database).toBeGreaterThan(8 * 2 ** 30);
    expect(placed.spot).toBeGreaterThan(0);
    expect(placed.ingress).toBeGreaterThan(0);
    const total = report.pools.reduce((sum, pool) => sum + pool.placed.memory, 0);
    expect(total).toBeCloseTo(report.minimum.memory, 0);
    expect(formatCapacity(report)).toMatch(/^ {2}pool database: 2 node\(s\) of .*; placed at minimum: /m);
  });

  it('fails as a configuration error, with the table, when the pinned pods do not fit their small pool', () => {
    const problems = refusedWith(poolsWith('database', { nodes: 2, cpuPerNode: '4', memoryPerNode: '8Gi' }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^config\/prod\.yaml: cluster: expected node pools that hold every pod at its minimum replicas/);
    expect(problems[0]).toContain(
      'does not fit: a pod of StatefulSet prefect-data/postgres requests more than one node of pool database has',
    );
    expect(problems[0]).toContain('pool database: 2 node(s) of');
    expect(problems[0]).toMatch(/^ {4}StatefulSet prefect-data\/postgres +1 /m);
  });

  it('fails when the pinned pods fit a node each but not all together', () => {
    const [problem] = refusedWith(poolsWith('database', { nodes: 2, cpuPerNode: '6', memoryPerNode: '12Gi' }));
    expect(problem).toMatch(/no node of pool database has room left for a pod of StatefulSet prefect-data\/redis-/);
  });

  it('counts the requests that helmValues gives a controller, and refuses one that is not a quantity', () => {
    const sized = buildVariant('prod', [
      VARIANTS.companyCluster,
      { helmValues: { istiod: { resources: { requests: { cpu: '2', memory: '4Gi' } } } } },
    ]);
    const istiod = sized.capacity.workloads.find((workload) => workload.name === 'istiod');
    expect(istiod).toMatchObject({ cpu: 2, memory: 4 * 2 ** 30 });
    expect(values('istiod').resources).toBeUndefined();
    expect(refusal({ helmValues: { 'cert-manager': { webhook: { resources: { requests: { memory: 'lots' } } } } } })).toEqual([
      'config/prod.yaml: helmValues.cert-manager.webhook.resources.requests.memory: expected a Kubernetes quantity above zero, such as "512Mi", got "lots"',
    ]);
  });

  it('fails when no pool admits a workload (a nodeSelector no pool has, or a taint it does not tolerate)', () => {
    const [nowhere] = refusedWith({
      scheduling: { workloads: { postgres: { nodeSelector: { 'example.com/pool': 'gpu' }, tolerations: null } } },
    });
    expect(nowhere).toMatch(
      /does not fit: no node pool admits the pods of StatefulSet prefect-data\/postgres \(nodeSelector \{"example.com\/pool":"gpu"\}.*\): pool cluster \(labels example.com\/pool=general; taints none\); pool database/,
    );
    const [untolerated] = refusedWith(poolsWith('spot', { taints: [{ key: 'example.com/preemptible', effect: 'NoExecute' }] }));
    expect(untolerated).toMatch(/does not fit: no node pool admits the pods of Deployment prefect\/ladler/);
  });
});

describe('company settings that cannot apply', () => {
  it('refuses a patch of an object that does not exist, naming it', () => {
    expect(refusal({ patches: [{ target: { kind: 'Deployment', namespace: 'prefect', name: 'reports' }, merge: { spec: {} } }] })).toEqual([
      'config/prod.yaml: patches[0].target: expected an object of the output: there is no Deployment prefect/reports',
    ]);
  });

  it('refuses a JSON patch operation that does not apply, and a patch that renames its object', () => {
    expect(
      refusal({
        patches: [
          { target: { kind: 'Service', namespace: 'prefect', name: 'ui' }, jsonPatch: [{ op: 'remove', path: '/spec/nothing/here' }] },
          { target: { kind: 'Service', namespace: 'prefect', name: 'ui' }, merge: { metadata: { name: 'other' } } },
        ],
      }),
    ).toEqual([
      'config/prod.yaml: patches[0].jsonPatch[0]: expected an operation that applies to Service prefect/ui: "/spec/nothing" does not exist (in "/spec/nothing/here")',
      'config/prod.yaml: patches[1]: expected a patch that keeps the kind, name and namespace of Service prefect/ui (its file is named after them)',
    ]);
  });

  it('refuses values for a release and a source for a repository that the platform layer does not have', () => {
    const problems = refusal({
      helmValues: { grafana: { replicas: 2 } },
      charts: { bitnami: { url: 'oci://registry.example.com/bitnami' } },
    });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^config\/prod\.yaml: charts\.bitnami: expected a HelmRepository of the platform layer: .*istio/);
    expect(problems[1]).toMatch(/^config\/prod\.yaml: helmValues\.grafana: expected a HelmRelease of the platform layer: .*istiod/);
  });

  it('refuses an unknown workload, a reserved label and a patch with both forms or neither', () => {
    const problems = refusal({
      scheduling: { workloads: { databse: { nodeSelector: { pool: 'db' } } } },
      metadata: { labels: { 'app.kubernetes.io/team': 'x' } },
      patches: [{ target: { kind: 'Service', name: 'ui' } }],
    });
    expect(problems).toEqual([
      expect.stringMatching(/^config\/prod\.yaml: metadata\.labels\.app\.kubernetes\.io\/team: expected a key of your own/),
      'config/prod.yaml: patches[0].merge: required: expected either merge or jsonPatch (one of them)',
      expect.stringMatching(
        /^config\/prod\.yaml: scheduling\.workloads\.databse: expected a workload: prefect, type:web, .*postgres.*server/,
      ),
    ]);
  });
});

describe('the patch forms and the mirror rewrite', () => {
  it('merge as RFC 7386 says: mappings merge, null removes, lists replace', () => {
    expect(mergePatch({ a: { b: 1, c: 2 }, d: [1, 2] }, { a: { b: null, e: 3 }, d: [3] })).toEqual({ a: { c: 2, e: 3 }, d: [3] });
  });

  it('apply RFC 6902 operations in order, all or nothing', () => {
    const document = { spec: { list: ['a', 'b'], value: 1 } };
    expect(
      applyJsonPatch(document, [
        { op: 'add', path: '/spec/list/-', value: 'c' },
        { op: 'add', path: '/spec/list/0', value: 'z' },
        { op: 'replace', path: '/spec/value', value: 2 },
        { op: 'copy', from: '/spec/value', path: '/spec/copied' },
        { op: 'move', from: '/spec/copied', path: '/spec/moved' },
        { op: 'test', path: '/spec/list', value: ['z', 'a', 'b', 'c'] },
        { op: 'remove', path: '/spec/list/1' },
      ]),
    ).toEqual({ spec: { list: ['z', 'b', 'c'], value: 2, moved: 2 } });
    expect(document).toEqual({ spec: { list: ['a', 'b'], value: 1 } });
    expect(() => applyJsonPatch(document, [{ op: 'test', path: '/spec/value', value: 2 }])).toThrow(/operation 0: test failed/);
    expect(() => applyJsonPatch(document, [{ op: 'add', path: '/spec/list/5', value: 'x' }])).toThrow(/past the end of the list/);
  });

  it('rewrite image references of a mirrored registry, Docker Hub’s short forms included, digests kept', () => {
    const mirrors = { 'docker.io': 'mirror.example.com/hub', 'ghcr.io': 'mirror.example.com/ghcr' };
    expect(mirrored('redis:7', mirrors)).toBe('mirror.example.com/hub/library/redis:7');
    expect(mirrored('prefecthq/prefect:3', mirrors)).toBe('mirror.example.com/hub/prefecthq/prefect:3');
    expect(mirrored('docker.io/library/postgres:17.6@sha256:abc', mirrors)).toBe('mirror.example.com/hub/library/postgres:17.6@sha256:abc');
    expect(mirrored('ghcr.io/cloudnative-pg/postgresql:17.6', mirrors)).toBe('mirror.example.com/ghcr/cloudnative-pg/postgresql:17.6');
    expect(mirrored('registry.example.com/prefect/server:1', mirrors)).toBe('registry.example.com/prefect/server:1');
    expect(mirrored('localhost:5000/x:1', mirrors)).toBe('localhost:5000/x:1');
  });
});
