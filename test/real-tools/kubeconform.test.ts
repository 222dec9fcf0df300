/*
 * kubeconform -strict over every dist/<env>/ folder, for every Kubernetes version of the schema
 * bundle, against the bundle written in kubeconform's layout (kubeconform-schemas.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { KUBERNETES_VERSIONS, loadSchemaBundle } from '../../lib/validation/schema-bundle';
import { ENVIRONMENTS, PROJECT_ROOT } from '../helpers';
import { kubeconformVersion, schemaLocation, writeKubeconformSchemas } from './kubeconform-schemas';
import { type Result, runTool } from './tools';

interface Report {
  resources: Array<{ filename: string; kind: string; name: string; status: string; msg: string }> | null;
  summary: { valid: number; invalid: number; errors: number; skipped: number };
}

let root: string;

beforeAll(() => {
  const bundle = loadSchemaBundle(PROJECT_ROOT);
  // One folder per bundle content: regenerated only when the bundle changes.
  root = path.join(PROJECT_ROOT, 'build', 'kubeconform', bundle.id.slice(0, 16));
  if (!fs.existsSync(path.join(root, '.complete'))) {
    fs.rmSync(root, { recursive: true, force: true });
    expect(writeKubeconformSchemas(bundle, root)).toBeGreaterThan(0);
    fs.writeFileSync(path.join(root, '.complete'), '');
  }
});

function kubeconform(version: string, target: string, input?: string): Promise<Result> {
  return runTool(
    'kubeconform',
    [
      '-strict',
      '-summary',
      '-output=json',
      `-kubernetes-version=${kubeconformVersion(version)}`,
      `-schema-location=${schemaLocation(root)}`,
      // kustomize's own kustomization.yaml is not a Kubernetes object.
      '-ignore-filename-pattern=(^|/)kustomization\\.yaml$',
      target,
    ],
    { input },
  );
}

function report(result: Result): Report {
  try {
    return JSON.parse(result.stdout) as Report;
  } catch {
    throw new Error(`kubeconform printed no report: exit ${result.status}\n${result.stderr}${result.stdout}`);
  }
}

function objectFiles(environment: string): number {
  const folder = path.join(PROJECT_ROOT, 'dist', environment);
  return fs
    .readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.yaml') && path.basename(file) !== 'kustomization.yaml').length;
}

describe.each(KUBERNETES_VERSIONS)('kubeconform -strict, Kubernetes %s', (version) => {
  it.each(ENVIRONMENTS)('finds every object of dist/%s valid, none skipped', async (environment) => {
    const result = await kubeconform(version, path.join(PROJECT_ROOT, 'dist', environment));
    const { summary, resources } = report(result);
    expect(resources ?? [], result.stdout).toEqual([]);
    expect(summary).toEqual({ valid: objectFiles(environment), invalid: 0, errors: 0, skipped: 0 });
    expect(result.status).toBe(0);
  });

  it('fails on a field the schema does not have, and on a kind it has no schema for', async () => {
    const deployment = fs.readFileSync(path.join(PROJECT_ROOT, 'dist', 'prod', 'prefect', 'deployment.prefect.ui.yaml'), 'utf8');
    const planted = deployment.replace(/^spec:\n/m, 'spec:\n  planted: true\n');
    expect(planted).not.toBe(deployment);
    const unknownKind = 'apiVersion: example.com/v1\nkind: Planted\nmetadata:\n  name: planted\n';
    const result = await kubeconform(version, '-', `${planted}---\n${unknownKind}`);
    const { summary, resources } = report(result);
    expect(result.status).not.toBe(0);
    expect(summary).toMatchObject({ valid: 0, invalid: 1, errors: 1 });
    expect(resources?.map(({ kind, status }) => `${kind} ${status}`).sort()).toEqual(['Deployment statusInvalid', 'Planted statusError']);
    expect(resources?.find(({ kind }) => kind === 'Deployment')?.msg).toMatch(/additional properties 'planted' not allowed|planted/);
  });
});
