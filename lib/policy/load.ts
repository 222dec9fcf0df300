/*
 * Reads the committed output, dist/<env>/<layer>/*.yaml, back into objects for the policy suite:
 * what is checked is what Flux applies.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import type { PolicyObject } from './model';
import type { PolicyInput } from './run';

/** The environment folders of `distDir` (hidden scratch folders excluded), sorted. */
export function listDistEnvironments(distDir: string): string[] {
  if (!fs.existsSync(distDir)) return [];
  return fs
    .readdirSync(distDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort();
}

/**
 * Every object of `dist/<environment>/`, one per YAML document, each with its path as
 * `<label>/<environment>/<layer>/<file>`. Kustomization files (kustomize's, not Flux's) and
 * non-YAML files are skipped; a document that is not a Kubernetes object is an error.
 */
export function loadDistEnvironment(distDir: string, environment: string, label = 'dist'): PolicyInput {
  const root = path.join(distDir, environment);
  if (!fs.existsSync(root)) throw new Error(`${label}/${environment} does not exist: run make synth first`);
  const objects: Array<{ object: PolicyObject; file: string }> = [];
  for (const relative of listYamlFiles(root)) {
    if (path.basename(relative) === 'kustomization.yaml') continue;
    const file = `${label}/${environment}/${relative}`;
    const documents = yaml.loadAll(fs.readFileSync(path.join(root, relative), 'utf8'));
    for (const document of documents) {
      if (document === null || document === undefined) continue;
      const object = document as Partial<PolicyObject>;
      if (typeof object.apiVersion !== 'string' || typeof object.kind !== 'string' || typeof object.metadata?.name !== 'string') {
        throw new Error(`${file}: a document without apiVersion, kind and metadata.name`);
      }
      objects.push({ object: object as PolicyObject, file });
    }
  }
  return { environment, objects };
}

function listYamlFiles(root: string, prefix = ''): string[] {
  const files: string[] = [];
  for (const entry of fs.readdirSync(path.join(root, prefix), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) files.push(...listYamlFiles(root, relative));
    else if (/\.ya?ml$/.test(entry.name)) files.push(relative);
  }
  return files;
}
