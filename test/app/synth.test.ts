import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { LABEL, STABLE_LABEL_KEYS, VERSIONED_KINDS } from '../../lib/core/labels';
import { appliedLayersOf, layersOf } from '../../lib/flux/layers';
import type { RenderedEnvironment } from '../../lib/output/render';
import { checkEnvironment } from '../../lib/app/synthesize';
import { build, ENVIRONMENTS, findObject, loadEnvironment, objectsOfKind, PROJECT_ROOT, sharedValidator } from '../helpers';

const rendered = new Map<string, RenderedEnvironment>(ENVIRONMENTS.map((environment) => [environment, build(environment)]));
const env = (name: string) => rendered.get(name) as RenderedEnvironment;

describe.each(ENVIRONMENTS)('%s', (environment) => {
  it('matches its snapshot', async () => {
    const text = [...env(environment).files].map(([file, content]) => `# ---- ${file}\n${content}`).join('');
    await expect(text).toMatchFileSnapshot(path.join(PROJECT_ROOT, '__snapshots__', `${environment}.yaml`));
  });

  it('passes strict validation, the label contract and the YAML 1.1 reading check', () => {
    expect(checkEnvironment(env(environment), sharedValidator())).toEqual([]);
  });

  it('is byte-for-byte deterministic', () => {
    expect([...build(environment).files]).toEqual([...env(environment).files]);
  });

  it('writes one folder per layer, each with a kustomization listing exactly its files', () => {
    const folders = new Set([...env(environment).files.keys()].filter((file) => file !== 'README.md').map((file) => file.split('/')[0]));
    const layers = layersOf(loadEnvironment(environment));
    // monitoring only where monitoring.enabled.
    expect(layers.includes('monitoring')).toBe(loadEnvironment(environment).monitoring.enabled);
    expect([...folders].sort()).toEqual([...layers].sort());
    for (const layer of layers) {
      const files = [...env(environment).files.keys()].filter(
        (file) => file.startsWith(`${layer}/`) && file !== `${layer}/kustomization.yaml`,
      );
      const kustomization = env(environment).files.get(`${layer}/kustomization.yaml`) as string;
      const listed = [...kustomization.matchAll(/^ {2}- (.+)$/gm)].map((match) => `${layer}/${match[1]}`);
      expect(listed).toEqual(files.sort());
    }
  });

  it('names every file after the kind, namespace and name of its one object', () => {
    for (const { file, object } of env(environment).objects) {
      const expected = [object.kind.toLowerCase(), object.metadata.namespace, object.metadata.name].filter(Boolean).join('.');
      expect(file).toBe(`${file.split('/')[0]}/${expected}.yaml`);
    }
  });

  it('puts the stable recommended labels on every object, and the version on the workloads only', () => {
    for (const { object } of env(environment).objects) {
      for (const key of STABLE_LABEL_KEYS)
        expect(object.metadata.labels?.[key], `${object.kind} ${object.metadata.name} ${key}`).toMatch(/\S/);
      expect(object.metadata.labels?.['app.kubernetes.io/instance']).toBe(`prefect-${environment}`);
      const version = object.metadata.labels?.[LABEL.version];
      if (VERSIONED_KINDS.has(object.kind)) expect(version, `${object.kind} ${object.metadata.name}`).toMatch(/^v?\d+\.\d+/);
      else expect(version, `${object.kind} ${object.metadata.name}`).toBeUndefined();
    }
  });

  it('never lets Flux prune a namespace', () => {
    const namespaces = objectsOfKind(env(environment), 'Namespace');
    expect(namespaces.length).toBeGreaterThan(0);
    for (const namespace of namespaces) expect(namespace.metadata.annotations?.['kustomize.toolkit.fluxcd.io/prune']).toBe('disabled');
  });

  it('chains the Flux Kustomizations in layer order, from the configured source', () => {
    const applied = appliedLayersOf(loadEnvironment(environment));
    const kustomizations = applied.map((layer) =>
      findObject(env(environment), 'Kustomization', `prefect-${environment}-${layer}`, 'flux-system'),
    );
    kustomizations.forEach((kustomization, index) => {
      const spec = kustomization.spec as Record<string, unknown>;
      expect(spec).toMatchObject({
        path: `./dist/${environment}/${applied[index]}`,
        prune: true,
        // Renaming or removing a layer never deletes what it applied.
        deletionPolicy: 'Orphan',
        // The edge layer is ready once applied (and its health checks pass): see EdgeChart.readiness;
        // the migrations layer once its migration Jobs are (not their cleanup): MigrationsChart.readiness.
        wait: applied[index] !== 'edge' && applied[index] !== 'migrations',
        sourceRef: { kind: 'GitRepository', name: 'flux-system', namespace: 'flux-system' },
      });
      expect(spec.timeout).toMatch(/^\d+m$/);
      expect(spec.retryInterval).toMatch(/^\d+m$/);
      expect(spec.dependsOn).toEqual(
        index === 0 ? undefined : [{ name: `prefect-${environment}-${applied[index - 1]}`, namespace: 'flux-system' }],
      );
    });
  });
});

describe('determinism', () => {
  it('builds the same bytes whatever the time zone and locale of the machine', () => {
    const hashIn = (env: NodeJS.ProcessEnv) => {
      const result = spawnSync('npx', ['tsx', 'test/print-build-hash.ts'], {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
        env: { ...process.env, ...env },
      });
      expect(result.stderr).toBe('');
      return result.stdout.trim();
    };
    const utc = hashIn({ TZ: 'UTC', LANG: 'C', LC_ALL: 'C' });
    expect(utc).toMatch(/^[0-9a-f]{64}$/);
    expect(hashIn({ TZ: 'Pacific/Chatham', LANG: 'tr_TR.UTF-8', LC_ALL: 'tr_TR.UTF-8' })).toBe(utc);
  });
});

describe('namespaces', () => {
  it('enforce Pod Security "restricted" where Prefect and its data run, with sidecar injection', () => {
    for (const name of ['prefect', 'prefect-data']) {
      const labels = findObject(env('prod'), 'Namespace', name).metadata.labels;
      expect(labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'restricted', 'istio-injection': 'enabled' });
    }
  });
});
