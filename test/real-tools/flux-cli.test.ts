/*
 * The Flux CLI (built by scripts/install-tools.sh from tools/go/flux) over dist/: each
 * environment's README tells reviewers to run `flux build kustomization` per layer; every such
 * line runs here as written, and builds what kustomize builds, with Flux's ownership labels.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { appliedLayersOf } from '../../lib/flux/layers';
import { listFiles } from '../../lib/output/atomic-tree';
import { loadEnvironment, PROJECT_ROOT } from '../helpers';
import { readmeFluxLines } from './flux';
import { runTool } from './tools';

const ENVIRONMENTS = ['dev', 'staging', 'prod', 'oss'] as const;

type Manifest = { kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } };

/** Each file under `folder` with its inode and modification time: what a rewrite, even to the same bytes, changes. */
function untouched(folder: string): Record<string, string> {
  return Object.fromEntries(
    listFiles(folder).map((file) => {
      const stat = fs.statSync(path.join(folder, file));
      return [file, `${stat.ino}:${stat.mtimeMs}`];
    }),
  );
}

const ids = (objects: readonly Manifest[]) =>
  objects.map((object) => `${object.kind} ${object.metadata.namespace ?? '-'}/${object.metadata.name}`).sort();

describe.each(ENVIRONMENTS)("dist/%s with the Flux CLI, as the README's reviewers run it", (environment) => {
  const lines = readmeFluxLines(environment, 'build');
  const layers = appliedLayersOf(loadEnvironment(environment));

  it('names one build per layer', () => {
    expect(lines.map((args) => args[2])).toEqual(layers.map((layer) => `prefect-${environment}-${layer}`));
  });

  it.each(layers)('flux build kustomization of the %s layer builds what kustomize builds, owned by its Kustomization', async (layer) => {
    const args = lines.find((line) => line[2] === `prefect-${environment}-${layer}`) as string[];
    const before = untouched(path.join(PROJECT_ROOT, 'dist', environment));
    const built = await runTool('flux', args);
    expect(built.status, built.stderr).toBe(0);
    // The reviewer's checkout, as it was, file by file: the line builds in memory (without
    // --in-memory-build the Flux CLI replaces the folder's kustomization.yaml, a new inode).
    expect(untouched(path.join(PROJECT_ROOT, 'dist', environment))).toEqual(before);
    const objects = yaml.loadAll(built.stdout).filter(Boolean) as Manifest[];
    const kustomized = await runTool('kubectl', ['kustomize', path.join('dist', environment, layer)]);
    expect(kustomized.status, kustomized.stderr).toBe(0);
    expect(ids(objects)).toEqual(ids(yaml.loadAll(kustomized.stdout).filter(Boolean) as Manifest[]));
    for (const object of objects) {
      expect(object.metadata.labels?.['kustomize.toolkit.fluxcd.io/name']).toBe(`prefect-${environment}-${layer}`);
      expect(object.metadata.labels?.['kustomize.toolkit.fluxcd.io/namespace']).toBe('flux-system');
    }
  });
});
