/*
 * dist/ on a real kube-apiserver (test/real-tools/api-server.ts): every environment, layer by
 * layer in Flux's order, as kustomize-controller applies it (kustomize build, then server-side
 * apply in its stages); every pod template admitted as a Pod under Pod Security; and an
 * upgrade: changed syntheses dry-run over the applied committed output. Each kind of fault the
 * server catches and the strict validator cannot (immutable fields, CEL rules, admission, the
 * API server's own validation) is planted once to prove the run fails on it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POD_TEMPLATE_PATHS } from '../../lib/core/kubernetes-object';
import { APPLIED_LAYERS, appliedLayersOf } from '../../lib/flux/layers';
import type { KubernetesObject, RenderedEnvironment } from '../../lib/output/render';
import { immutableChanges } from '../../lib/validation/immutable-fields';
import { loadClusterCrds } from '../../lib/validation/schema-bundle';
import { ACM_CERTIFICATE, buildVariant, VARIANTS } from '../config-variants';
import { ENVIRONMENTS, loadEnvironment, PROJECT_ROOT, writeRendered } from '../helpers';
import { ApiServer } from './api-server';
import { readmeFluxLines } from './flux';
import { type Result, runTool } from './tools';

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** The flux layer first (bootstrap applies it), then the layers in the order of their dependsOn. */
/** The flux layer first, then an environment's layers (monitoring only where enabled). */
const fluxOrder = (environment: string) => ['flux', ...appliedLayersOf(loadEnvironment(environment))];
/** The same, for an environment built in memory: the layers it has folders for. */
const renderedOrder = (rendered: RenderedEnvironment) => [
  'flux',
  ...APPLIED_LAYERS.filter((layer) => rendered.files.has(`${layer}/kustomization.yaml`)),
];
const FIELD_MANAGER = '--field-manager=kustomize-controller';
/** What kustomize-controller applies before the rest of a layer (fluxcd/pkg ssa: ApplyAllStaged). */
const DEFINITION_KINDS = new Set(['CustomResourceDefinition', 'Namespace', 'ClusterRole', 'ClusterRoleBinding']);

let server: ApiServer;

type Pod = any;
const first = (spec: Pod) => spec.containers[0];

/** What a command printed, for a failure message. */
function output(result: Result): string {
  return `exit ${result.status}\n${result.stderr}${result.stdout}`.trim();
}

async function kustomize(folder: string): Promise<Manifest[]> {
  const built = await runTool('kubectl', ['kustomize', folder]);
  if (built.status !== 0) throw new Error(`kubectl kustomize ${folder}: ${output(built)}`);
  return yaml.loadAll(built.stdout).filter(Boolean) as Manifest[];
}

function list(items: readonly unknown[]): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
}

function apply(items: readonly unknown[], options: { dryRun: boolean }): Promise<Result> {
  return server.kubectl(['apply', '--server-side', FIELD_MANAGER, ...(options.dryRun ? ['--dry-run=server'] : []), '-f', '-'], list(items));
}

/** A Pod per workload, from its pod template, in the workload's namespace. */
function podsOf(objects: readonly Manifest[]): Manifest[] {
  return objects.flatMap((object) => {
    const templatePath = POD_TEMPLATE_PATHS[object.kind];
    if (templatePath === undefined) return [];
    const template = templatePath.reduce<unknown>((value, key) => (value as Record<string, unknown>)?.[key], object) as {
      metadata?: { labels?: Record<string, string> };
      spec: unknown;
    };
    const spec = structuredClone(template.spec) as { volumes?: unknown[] };
    // The StatefulSet controller's part: a volume per claim template, bound to the pod's claim.
    const claims =
      (object.spec as { volumeClaimTemplates?: Array<{ metadata: { name: string } }> } | undefined)?.volumeClaimTemplates ?? [];
    if (object.kind === 'StatefulSet' && claims.length > 0) {
      spec.volumes = [
        ...(spec.volumes ?? []),
        ...claims.map(({ metadata: { name } }) => ({ name, persistentVolumeClaim: { claimName: `${name}-${object.metadata.name}-0` } })),
      ];
    }
    return [
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: `${object.metadata.name}-admission`,
          namespace: object.metadata.namespace ?? 'default',
          labels: template.metadata?.labels,
        },
        spec,
      },
    ];
  });
}

async function committedLayers(environment: string): Promise<Map<string, Manifest[]>> {
  const layers = new Map<string, Manifest[]>();
  for (const layer of fluxOrder(environment)) layers.set(layer, await kustomize(path.join(PROJECT_ROOT, 'dist', environment, layer)));
  return layers;
}

/** Removes what an environment applied, but its namespaces (which no controller would finalize here). */
async function removeApplied(layers: ReadonlyMap<string, readonly Manifest[]>): Promise<void> {
  const objects = [...layers.values()].flat().filter((object) => object.kind !== 'Namespace');
  const removed = await server.kubectl(['delete', '--ignore-not-found', '--wait=false', '-f', '-'], list(objects));
  if (removed.status !== 0) throw new Error(`cleaning up: ${output(removed)}`);
  // Admission gives every claim the pvc-protection finalizer, which the controller manager
  // (not run here) removes once no pod uses the claim: done by hand, so that the claim goes.
  for (const claim of objects.filter((object) => object.kind === 'PersistentVolumeClaim')) {
    const released = await server.kubectl([
      'patch',
      'persistentvolumeclaim',
      claim.metadata.name,
      '--namespace',
      claim.metadata.namespace ?? 'default',
      '--type=merge',
      '--patch={"metadata":{"finalizers":null}}',
    ]);
    if (released.status !== 0 && !/NotFound|not found/.test(output(released))) throw new Error(`releasing a claim: ${output(released)}`);
  }
}

beforeAll(async () => {
  server = await ApiServer.start();
  // The CRDs the platform layer's charts install (the upstream files imports/ come from).
  const crds = await server.kubectl(['apply', '--server-side', '-f', '-'], list(loadClusterCrds(PROJECT_ROOT)));
  if (crds.status !== 0) throw new Error(`installing the CRDs: ${output(crds)}`);
  const established = await server.kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=120s']);
  if (established.status !== 0) throw new Error(`waiting for the CRDs: ${output(established)}`);
  // Flux's own namespace, which bootstrap creates.
  const namespace = await server.kubectl(['create', 'namespace', 'flux-system']);
  if (namespace.status !== 0) throw new Error(`creating flux-system: ${output(namespace)}`);
});

afterAll(async () => {
  await server?.stop();
});

describe.each(ENVIRONMENTS)('dist/%s on a real kube-apiserver', (environment) => {
  let layers: Map<string, Manifest[]>;
  beforeAll(async () => {
    layers = await committedLayers(environment);
  });
  afterAll(async () => {
    if (layers !== undefined) await removeApplied(layers);
  });

  it.each(fluxOrder(environment))('the %s layer applies with server-side apply, without a warning', async (layer) => {
    const objects = layers.get(layer) as Manifest[];
    expect(objects.length).toBeGreaterThan(0);
    // As kustomize-controller stages them: Namespaces, CRDs and cluster roles first.
    const definitions = objects.filter((object) => DEFINITION_KINDS.has(object.kind));
    const rest = objects.filter((object) => !DEFINITION_KINDS.has(object.kind));
    for (const stage of [definitions, rest].filter((objects) => objects.length > 0)) {
      const applied = await apply(stage, { dryRun: false });
      expect(applied.status, output(applied)).toBe(0);
      // Pod Security's warn mode, deprecated APIs and the like print warnings on stderr.
      expect(applied.stderr).toBe('');
      expect(applied.stdout.trim().split('\n')).toHaveLength(stage.length);
    }
  });

  it('runs every workload in a namespace that enforces Pod Security "restricted", and each pod template is admitted there', async () => {
    const objects = [...layers.values()].flat();
    const pods = podsOf(objects);
    expect(pods.length).toBeGreaterThan(0);
    const namespaces = await server.kubectl(['get', 'namespaces', '-o', 'json']);
    const levels = new Map(
      (JSON.parse(namespaces.stdout) as { items: Manifest[] }).items.map((namespace) => [
        namespace.metadata.name,
        namespace.metadata.labels?.['pod-security.kubernetes.io/enforce'],
      ]),
    );
    for (const pod of pods) expect(levels.get(pod.metadata.namespace as string), pod.metadata.name).toBe('restricted');
    const created = await server.kubectl(['create', '--dry-run=server', '-f', '-'], list(pods));
    expect(created.status, output(created)).toBe(0);
    expect(created.stderr).toBe('');
  });
});

describe('an upgrade of dist/prod on a real kube-apiserver', () => {
  let committed: Map<string, Manifest[]>;
  beforeAll(async () => {
    committed = await committedLayers('prod');
    for (const layer of fluxOrder('prod')) {
      const applied = await apply(committed.get(layer) as Manifest[], { dryRun: false });
      if (applied.status !== 0) throw new Error(`applying the committed ${layer} layer: ${output(applied)}`);
    }
  });
  afterAll(async () => {
    if (committed !== undefined) await removeApplied(committed);
  });

  /** A server-side dry run of every layer of `rendered` over what is applied. */
  async function dryRunOver(rendered: RenderedEnvironment): Promise<Result> {
    const folder = writeRendered(rendered);
    try {
      const objects: Manifest[] = [];
      for (const layer of renderedOrder(rendered)) objects.push(...(await kustomize(path.join(folder, layer))));
      return await apply(objects, { dryRun: true });
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  }

  it("finds nothing to change with the README's flux diff of each layer, and the Deployments a tag bump changes", async () => {
    // What kustomize-controller applies: the layer as Flux builds it, with its ownership labels.
    for (const args of readmeFluxLines('prod', 'build')) {
      const built = await runTool('flux', args);
      expect(built.status, output(built)).toBe(0);
      const applied = await apply(yaml.loadAll(built.stdout).filter(Boolean), { dryRun: false });
      expect(applied.status, output(applied)).toBe(0);
    }
    const lines = readmeFluxLines('prod', 'diff');
    expect(lines).toHaveLength(appliedLayersOf(loadEnvironment('prod')).length);
    for (const args of lines) {
      const diff = await server.flux(args);
      expect(diff.status, `${args.join(' ')}\n${output(diff)}`).toBe(0);
    }
    const folder = writeRendered(buildVariant('prod', { prefect: { image: { tag: '2026.12.1' } } }));
    try {
      // The same line in a checkout whose dist/prod is the bumped output (the in-memory build reads below its working folder).
      const args = lines.find((line) => line[2] === 'prefect-prod-prefect') as string[];
      const checkout = fs.mkdtempSync(path.join(os.tmpdir(), 'prefect-cdk8s-checkout-'));
      fs.mkdirSync(path.join(checkout, 'dist'));
      fs.renameSync(folder, path.join(checkout, 'dist', 'prod'));
      const diff = await server.flux(args, checkout);
      fs.renameSync(path.join(checkout, 'dist', 'prod'), folder);
      fs.rmSync(checkout, { recursive: true, force: true });
      // flux diff exits 1 when the cluster would change.
      expect(diff.status, output(diff)).toBe(1);
      expect(diff.stdout).toContain('Deployment/prefect/ui drifted');
      expect(diff.stdout).not.toContain('Service/prefect/ui drifted');
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  it.each([
    ['a Prefect image tag bump', { prefect: { image: { tag: '2026.12.1' } } }],
    ['a PostgreSQL version bump', { postgres: { version: '17.7' } }],
    ['a Redis version bump (streams, a StatefulSet with storage)', { redis: { streams: { version: '7.4.7' } } }],
  ])('%s applies over the committed output', async (_change, changes) => {
    const result = await dryRunOver(buildVariant('prod', changes));
    expect(result.status, output(result)).toBe(0);
    expect(result.stderr).toBe('');
  });

  // The synthesis guard (lib/validation/immutable-fields.ts) must refuse exactly what the API
  // server refuses: each case is applied to both.
  it.each<[string, string, string, (object: Pod) => void, boolean]>([
    [
      'a StatefulSet storage class',
      'data',
      'StatefulSet/postgres',
      (o) => (o.spec.volumeClaimTemplates[0].spec.storageClassName = 'io2'),
      true,
    ],
    [
      'a StatefulSet volume size',
      'data',
      'StatefulSet/postgres',
      (o) => (o.spec.volumeClaimTemplates[0].spec.resources.requests.storage = '200Gi'),
      true,
    ],
    ['a StatefulSet pod management policy', 'data', 'StatefulSet/postgres', (o) => (o.spec.podManagementPolicy = 'OrderedReady'), true],
    [
      'a StatefulSet image and update strategy',
      'data',
      'StatefulSet/postgres',
      (o) => {
        o.spec.template.spec.containers[0].image = 'postgres:17.7';
        o.spec.updateStrategy = { type: 'OnDelete' };
      },
      false,
    ],
    [
      'a Deployment selector',
      'prefect',
      'Deployment/ui',
      (o) => {
        o.spec.selector.matchLabels.planted = 'yes';
        o.spec.template.metadata.labels.planted = 'yes';
      },
      true,
    ],
    ['a Deployment image', 'prefect', 'Deployment/ui', (o) => (o.spec.template.spec.containers[0].image = 'ui:next'), false],
    ['a Service made headless', 'data', 'Service/postgres', (o) => (o.spec.clusterIP = 'None'), true],
    // Server-side apply keeps a field that the applied configuration drops: the Service stays headless.
    ['a headless Service whose clusterIP is dropped', 'data', 'Service/postgres-headless', (o) => delete o.spec.clusterIP, false],
    ['a priority class value', 'platform', 'PriorityClass/prefect-data', (o) => (o.value += 1), true],
  ])('the synthesis guard and the API server agree on %s', async (_case, layer, id, edit, refused) => {
    const object = (committed.get(layer) as Manifest[]).find(
      (candidate) => `${candidate.kind}/${candidate.metadata.name}` === id,
    ) as Manifest;
    const changed = structuredClone(object) as Pod;
    edit(changed);
    const result = await apply([changed], { dryRun: true });
    expect(result.status !== 0, output(result)).toBe(refused);
    expect(immutableChanges(object as unknown as KubernetesObject, changed).length > 0).toBe(refused);
  });

  it('refuses a planted change to an immutable field (a StatefulSet selector)', async () => {
    const statefulSet = (committed.get('data') as Manifest[]).find((object) => object.kind === 'StatefulSet') as Manifest;
    const changed = structuredClone(statefulSet) as Manifest & {
      spec: { selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> } } };
    };
    changed.spec.selector.matchLabels.planted = 'yes';
    changed.spec.template.metadata.labels.planted = 'yes';
    const result = await apply([changed], { dryRun: true });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(
      /StatefulSet "[^"]+" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas'/,
    );
  });

  it('refuses a planted change to a Job template (immutable once created)', async () => {
    const job = (committed.get('data') as Manifest[]).find((object) => object.kind === 'Job') as Manifest;
    const changed = structuredClone(job) as Manifest & { spec: { template: { spec: { containers: Array<{ image: string }> } } } };
    for (const container of changed.spec.template.spec.containers) container.image = `${container.image}-planted`;
    const result = await apply([changed], { dryRun: true });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/field is immutable/);
  });
});

describe('the providers and modes the committed environments do not use, on a real kube-apiserver', () => {
  it.each<[string, string, Record<string, unknown> | readonly Record<string, unknown>[]]>([
    ['CloudNativePG with backups', 'prod', VARIANTS.cloudnativePg],
    ['CloudNativePG recovered to a point in time', 'prod', VARIANTS.cloudnativePgRecovery],
    ['external PostgreSQL and Redis', 'dev', VARIANTS.externalData],
    ['External Secrets', 'dev', VARIANTS.externalSecrets],
    ['an L7 load balancer (AWS)', 'prod', { loadBalancer: { mode: 'l7', certificate: ACM_CERTIFICATE } }],
    [
      'an L7 load balancer behind a NodePort (Azure)',
      'prod',
      { loadBalancer: { mode: 'l7', provider: 'azure', serviceType: 'NodePort', externalDns: false, sourceRanges: [] } },
    ],
    ['an existing TLS Secret', 'prod', VARIANTS.existingTls],
    [
      "Let's Encrypt over HTTP-01",
      'prod',
      [{ tls: null }, { tls: { mode: 'letsencrypt', email: 'platform@example.com', solver: { type: 'http01' } } }],
    ],
    ['a mesh of your own', 'staging', VARIANTS.ownMesh],
    ['an OCI artifact as the source, with SOPS-encrypted Secrets', 'prod', VARIANTS.ociSops],
    [
      'maintenance mode, single sign-on with every provider, Secret-backed settings',
      'prod',
      [
        VARIANTS.everySso,
        { maintenance: { retryAfter: 600 } },
        { prefect: { services: { actions: { env: { SMTP_PASSWORD: { secret: 'prefect-smtp', key: 'password' } } } } } },
      ],
    ],
  ])('%s (%s) passes a server-side dry run', async (_variant, environment, changes) => {
    const rendered = buildVariant(environment, changes);
    const folder = writeRendered(rendered);
    try {
      const objects: Manifest[] = [];
      for (const layer of renderedOrder(rendered)) objects.push(...(await kustomize(path.join(folder, layer))));
      // Namespaces as kustomize-controller creates them first, and those the configuration says
      // exist already (a mesh of your own brings its gateway's namespace).
      const namespaces = new Set(objects.flatMap((object) => (object.metadata.namespace ? [object.metadata.namespace] : [])));
      const created = objects.filter((object) => object.kind === 'Namespace');
      for (const name of created.map((object) => object.metadata.name)) namespaces.delete(name);
      const existing = [...namespaces].map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
      const defined = await apply([...created, ...existing], { dryRun: false });
      expect(defined.status, output(defined)).toBe(0);
      const result = await apply(
        objects.filter((object) => !DEFINITION_KINDS.has(object.kind)),
        { dryRun: true },
      );
      expect(result.status, output(result)).toBe(0);
      expect(result.stderr).toBe('');
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe("two environments' Flux folders in one cluster", () => {
  it('build together with kustomize and apply side by side, each chain of Kustomizations within its environment', async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'prefect-cdk8s-flux-'));
    try {
      // One kustomization over both folders: kustomize refuses two objects of one kind, namespace and name.
      const environments = ['dev', 'prod'];
      fs.writeFileSync(
        path.join(folder, 'kustomization.yaml'),
        yaml.dump({
          apiVersion: 'kustomize.config.k8s.io/v1beta1',
          kind: 'Kustomization',
          resources: environments.map((environment) => path.relative(folder, path.join(PROJECT_ROOT, 'dist', environment, 'flux'))),
        }),
      );
      const built = await runTool('kubectl', ['kustomize', '--load-restrictor=LoadRestrictionsNone', folder]);
      expect(built.status, output(built)).toBe(0);
      const objects = yaml.loadAll(built.stdout).filter(Boolean) as Manifest[];
      expect(objects).toHaveLength(environments.flatMap((environment) => appliedLayersOf(loadEnvironment(environment))).length);
      const applied = await apply(objects, { dryRun: false });
      expect(applied.status, output(applied)).toBe(0);
      expect(applied.stderr).toBe('');
      const listed = await server.kubectl(['get', 'kustomizations.kustomize.toolkit.fluxcd.io', '-n', 'flux-system', '-o', 'json']);
      const items = (
        JSON.parse(listed.stdout) as { items: Array<Manifest & { spec: { dependsOn?: Array<{ name: string }>; path: string } }> }
      ).items;
      for (const environment of environments) {
        const own = items.filter((item) => item.metadata.labels?.['app.kubernetes.io/instance'] === `prefect-${environment}`);
        expect(own.map((item) => item.metadata.name).sort()).toEqual(
          appliedLayersOf(loadEnvironment(environment))
            .map((layer) => `prefect-${environment}-${layer}`)
            .sort(),
        );
        for (const item of own) {
          expect(item.spec.path.startsWith(`./dist/${environment}/`), item.metadata.name).toBe(true);
          for (const dependency of item.spec.dependsOn ?? []) expect(dependency.name.startsWith(`prefect-${environment}-`)).toBe(true);
        }
      }
      const removed = await server.kubectl(['delete', '-f', '-'], list(objects));
      expect(removed.status, output(removed)).toBe(0);
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe("the migration cleanup's commands on a real kube-apiserver, under its Role", () => {
  type Job = Manifest & { spec: Record<string, any>; status?: Record<string, unknown> };
  let migrations: Job[];
  let cleanup: Job;
  const as = '--as=system:serviceaccount:prefect-data:migrations-cleanup';
  const NOW = '2026-12-01T10:00:00Z';

  /** A Job's status as the Job controller writes it, through the status subresource. */
  async function setStatus(name: string, status: Record<string, unknown>): Promise<void> {
    const patched = await server.kubectl([
      'patch',
      'job',
      name,
      '-n',
      'prefect-data',
      '--subresource=status',
      '--type=merge',
      `--patch=${JSON.stringify({ status })}`,
    ]);
    if (patched.status !== 0) throw new Error(`setting the status of ${name}: ${output(patched)}`);
  }
  const succeeded = {
    startTime: NOW,
    completionTime: NOW,
    succeeded: 1,
    conditions: [
      { type: 'SuccessCriteriaMet', status: 'True', lastProbeTime: NOW, lastTransitionTime: NOW },
      { type: 'Complete', status: 'True', lastProbeTime: NOW, lastTransitionTime: NOW },
    ],
  };
  const running = { startTime: NOW, active: 1 };
  const jobNames = async () =>
    (JSON.parse((await server.kubectl(['get', 'jobs', '-n', 'prefect-data', '-o', 'json'])).stdout) as { items: Job[] }).items
      .map((job) => job.metadata.name)
      .sort();

  beforeAll(async () => {
    const platform = await kustomize(path.join(PROJECT_ROOT, 'dist', 'prod', 'platform'));
    const namespaces = await apply(
      platform.filter((object) => object.kind === 'Namespace'),
      { dryRun: false },
    );
    if (namespaces.status !== 0) throw new Error(`creating the namespaces: ${output(namespaces)}`);
    const layer = (await kustomize(path.join(PROJECT_ROOT, 'dist', 'prod', 'migrations'))) as Job[];
    const applied = await apply(layer, { dryRun: false });
    if (applied.status !== 0) throw new Error(`applying the migrations layer: ${output(applied)}`);
    migrations = layer.filter((object) => object.kind === 'Job' && object.metadata.labels?.['app.kubernetes.io/component'] === 'migration');
    cleanup = layer.find((object) => object.kind === 'Job' && object.metadata.name.startsWith('migrations-cleanup-')) as Job;
    // An earlier release's Jobs: each database's, succeeded, and one still running.
    const earlier = migrations.map((job) => ({
      ...job,
      metadata: { ...job.metadata, name: job.metadata.name.replace(/-[0-9a-f]{10}$/, '-0000000000') },
    }));
    const stillRunning = { ...earlier[0], metadata: { ...earlier[0]?.metadata, name: 'migrate-orion-1111111111' } } as Job;
    const created = await apply([...earlier, stillRunning], { dryRun: false });
    if (created.status !== 0) throw new Error(`creating earlier Jobs: ${output(created)}`);
    for (const job of [...migrations, ...earlier]) await setStatus(job.metadata.name, succeeded);
    await setStatus(stillRunning.metadata.name, running);
  });

  afterAll(async () => {
    await server.kubectl(['delete', 'jobs', '--all', '-n', 'prefect-data', '--wait=false']);
  });

  it("waits for this release's Jobs, then deletes the succeeded Jobs of earlier releases only", async () => {
    const command = (container: string) =>
      (
        [...cleanup.spec.template.spec.initContainers, ...cleanup.spec.template.spec.containers].find(
          (candidate: { name: string }) => candidate.name === container,
        ).command as string[]
      ).slice(1);
    const before = await jobNames();
    expect(before).toHaveLength(migrations.length * 2 + 2);
    const waited = await server.kubectl([as, ...command('wait')]);
    expect(waited.status, output(waited)).toBe(0);
    const deleted = await server.kubectl([as, ...command('delete')]);
    expect(deleted.status, output(deleted)).toBe(0);
    expect(await jobNames()).toEqual(
      [cleanup.metadata.name, ...migrations.map((job) => job.metadata.name), 'migrate-orion-1111111111'].sort(),
    );
  });

  it('may do nothing else: no other kind, no other namespace, no other verb', async () => {
    for (const [verb, resource, namespace] of [
      ['delete', 'pods', 'prefect-data'],
      ['delete', 'statefulsets.apps', 'prefect-data'],
      ['get', 'secrets', 'prefect-data'],
      ['delete', 'jobs.batch', 'prefect'],
      ['create', 'jobs.batch', 'prefect-data'],
      ['patch', 'jobs.batch', 'prefect-data'],
    ] as const) {
      const allowed = await server.kubectl(['auth', 'can-i', verb, resource, '-n', namespace, as]);
      expect(allowed.stdout.trim(), `${verb} ${resource} in ${namespace}`).toBe('no');
    }
    const allowed = await server.kubectl(['auth', 'can-i', 'delete', 'jobs.batch', '-n', 'prefect-data', as]);
    expect(allowed.stdout.trim()).toBe('yes');
  });
});

describe('faults only a real API server sees, planted', () => {
  beforeAll(async () => {
    // The service account controller's part: a "default" ServiceAccount in the namespaces used.
    const accounts = ['prefect', 'default'].map((namespace) => ({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'default', namespace },
    }));
    const created = await apply(accounts, { dryRun: false });
    if (created.status !== 0) throw new Error(`creating default service accounts: ${output(created)}`);
  });

  const istiod = () => fs.readFileSync(path.join(PROJECT_ROOT, 'dist', 'prod', 'platform', 'helmrelease.flux-system.istiod.yaml'), 'utf8');

  it('a CEL rule of a CRD (HelmRelease: either chart or chartRef)', async () => {
    const release = yaml.load(istiod()) as Manifest & { spec: Record<string, unknown> };
    release.spec.chartRef = { kind: 'OCIRepository', name: 'istiod' };
    const result = await apply([release], { dryRun: true });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('either chart or chartRef must be set');
  });

  /** A compliant pod: the prod ui's pod template, under the namespace's default ServiceAccount and no priority class. */
  function compliantPod(): Manifest & { spec: Pod } {
    const deployment = yaml.load(
      fs.readFileSync(path.join(PROJECT_ROOT, 'dist', 'prod', 'prefect', 'deployment.prefect.ui.yaml'), 'utf8'),
    ) as {
      spec: { template: { spec: Pod } };
    };
    const spec = structuredClone(deployment.spec.template.spec);
    spec.serviceAccountName = 'default';
    delete spec.priorityClassName; // removed with the rest of prod above
    return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'planted', namespace: 'prefect' }, spec };
  }

  async function create(object: unknown): Promise<Result> {
    return server.kubectl(['create', '--dry-run=server', '-f', '-'], list([object]));
  }

  it('admits the compliant pod the cases below start from', async () => {
    const result = await create(compliantPod());
    expect(result.status, output(result)).toBe(0);
    expect(result.stderr).toBe('');
  });

  /** Pod Security's refusal, naming `control` among the violated controls. */
  const restricted = (control: string) => new RegExp(`violates PodSecurity "restricted:latest": .*${control}`);
  it.each<[string, (spec: Pod) => void, RegExp]>([
    // Pod Security "restricted" (and the baseline controls it includes), by the admission plugin.
    ['hostNetwork', (spec) => (spec.hostNetwork = true), restricted('host namespaces')],
    [
      'a privileged container',
      (spec) => Object.assign(first(spec).securityContext, { privileged: true, allowPrivilegeEscalation: true }),
      restricted('privileged \\(container "ui" must not set securityContext.privileged=true\\)'),
    ],
    [
      'a hostPath volume',
      (spec) => spec.volumes.push({ name: 'host', hostPath: { path: '/data' } }),
      restricted('restricted volume types \\(volume "host" uses restricted volume type "hostPath"\\)'),
    ],
    ['a host port', (spec) => (first(spec).ports[0].hostPort = 8080), restricted('hostPort')],
    [
      'an NFS volume',
      (spec) => spec.volumes.push({ name: 'shared', nfs: { server: 'nfs.example.com', path: '/exports' } }),
      restricted('restricted volume types'),
    ],
    [
      'allowPrivilegeEscalation unset',
      (spec) => delete first(spec).securityContext.allowPrivilegeEscalation,
      restricted('allowPrivilegeEscalation != false'),
    ],
    [
      'runAsNonRoot set nowhere',
      (spec) => {
        delete spec.securityContext.runAsNonRoot;
        delete first(spec).securityContext.runAsNonRoot;
      },
      restricted('runAsNonRoot != true'),
    ],
    ['uid 0', (spec) => (first(spec).securityContext.runAsUser = 0), restricted('runAsUser=0')],
    [
      'seccomp Unconfined',
      (spec) => {
        spec.securityContext.seccompProfile = { type: 'Unconfined' };
        delete first(spec).securityContext.seccompProfile;
      },
      restricted('seccompProfile'),
    ],
    [
      'an added capability',
      (spec) => (first(spec).securityContext.capabilities.add = ['SYS_TIME']),
      restricted('unrestricted capabilities'),
    ],
    [
      'capabilities not dropping ALL',
      (spec) => (first(spec).securityContext.capabilities = { drop: ['NET_RAW'] }),
      restricted('unrestricted capabilities'),
    ],
    [
      'AppArmor Unconfined',
      (spec) => (first(spec).securityContext.appArmorProfile = { type: 'Unconfined' }),
      restricted('forbidden AppArmor profile'),
    ],
    ['SELinux type spc_t', (spec) => (first(spec).securityContext.seLinuxOptions = { type: 'spc_t' }), restricted('seLinuxOptions')],
    [
      'an unsafe sysctl',
      (spec) => (spec.securityContext.sysctls = [{ name: 'kernel.msgmax', value: '65536' }]),
      restricted('forbidden sysctls'),
    ],
    // What the OpenAPI documents cannot say, by the API server's validation.
    ['imagePullPolicy Sometimes', (spec) => (first(spec).imagePullPolicy = 'Sometimes'), /imagePullPolicy: Unsupported value: "Sometimes"/],
    [
      'an init container named like the main one',
      (spec) => (spec.initContainers = [structuredClone(first(spec))]),
      /Duplicate value: "ui"/,
    ],
    ['protocol HTTP on a container port', (spec) => (first(spec).ports[0].protocol = 'HTTP'), /protocol: Unsupported value: "HTTP"/],
    ['dnsPolicy Sometimes', (spec) => (spec.dnsPolicy = 'Sometimes'), /dnsPolicy: Unsupported value: "Sometimes"/],
  ])('refuses a pod with %s', async (_case, edit, expected) => {
    const pod = compliantPod();
    edit(pod.spec);
    const result = await create(pod);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(expected);
  });

  it('refuses a Deployment whose pods would not restart, and a Job without a restart policy', async () => {
    const deployment = yaml.load(
      fs.readFileSync(path.join(PROJECT_ROOT, 'dist', 'prod', 'prefect', 'deployment.prefect.ui.yaml'), 'utf8'),
    ) as Manifest & {
      spec: { template: { spec: Pod } };
    };
    deployment.spec.template.spec.restartPolicy = 'Never';
    const refused = await create(deployment);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/spec\.template\.spec\.restartPolicy: Unsupported value: "Never"/);
    const job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'planted', namespace: 'prefect' },
      spec: { template: { spec: { containers: [{ name: 'main', image: 'busybox:1.37' }] } } },
    };
    const noPolicy = await create(job);
    expect(noPolicy.status).not.toBe(0);
    expect(noPolicy.stderr).toMatch(/spec\.template\.spec\.restartPolicy: Required value/);
  });

  it('refuses a Service of type Internal', async () => {
    const service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'planted', namespace: 'prefect' },
      spec: { type: 'Internal', ports: [{ port: 80 }] },
    };
    const result = await create(service);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/spec\.type: Unsupported value: "Internal"/);
  });
});
