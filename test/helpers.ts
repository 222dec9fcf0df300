import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfigFile, parseConfig, type EnvironmentConfig } from '../lib/config/load';
import type { KubernetesObject, RenderedEnvironment } from '../lib/output/render';
import { type BuiltEnvironment, buildEnvironment } from '../lib/app/synthesize';
import { loadSchemaBundle } from '../lib/validation/schema-bundle';
import { StrictValidator } from '../lib/validation/strict-validator';

export const PROJECT_ROOT = path.resolve(__dirname, '..');
export const ENVIRONMENTS = ['dev', 'staging', 'prod'] as const;

let validator: StrictValidator | undefined;
/** One strict validator per test file (compiling schemas is the slow part). */
export function sharedValidator(): StrictValidator {
  validator ??= new StrictValidator(loadSchemaBundle(PROJECT_ROOT));
  return validator;
}

export function loadEnvironment(environment: string): EnvironmentConfig {
  return loadConfigFile(path.join(PROJECT_ROOT, 'config', `${environment}.yaml`), `config/${environment}.yaml`);
}

/** Builds an environment in memory from its committed configuration. */
export function build(environment: string): RenderedEnvironment {
  return buildEnvironment(loadEnvironment(environment), `config/${environment}.yaml`);
}

/** Builds an environment from configuration text (a variant of a committed file). */
export function buildFromText(text: string, environment: string): BuiltEnvironment {
  return buildEnvironment(parseConfig(text, `config/${environment}.yaml`, environment), `config/${environment}.yaml`);
}

/** The one object of `kind` named `name` (and in `namespace`, when given); throws when absent. */
export function findObject(rendered: RenderedEnvironment, kind: string, name: string, namespace?: string): KubernetesObject {
  const matches = rendered.objects
    .map(({ object }) => object)
    .filter(
      (object) =>
        object.kind === kind && object.metadata.name === name && (namespace === undefined || object.metadata.namespace === namespace),
    );
  if (matches.length !== 1) {
    throw new Error(`expected one ${kind} ${namespace ? `${namespace}/` : ''}${name}, found ${matches.length}`);
  }
  return matches[0] as KubernetesObject;
}

export function objectsOfKind(rendered: RenderedEnvironment, kind: string): KubernetesObject[] {
  return rendered.objects.map(({ object }) => object).filter((object) => object.kind === kind);
}

/** The files of a rendered environment, written to a new temporary folder as dist/<env>/ would hold them. */
export function writeRendered(rendered: RenderedEnvironment): string {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'prefect-cdk8s-rendered-'));
  for (const [file, content] of rendered.files) {
    fs.mkdirSync(path.dirname(path.join(folder, file)), { recursive: true });
    fs.writeFileSync(path.join(folder, file), content);
  }
  return folder;
}

/** A throwaway copy of the project (sources, config, dist and git history), sharing node_modules. */
export function copyProject(): string {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'prefect-cdk8s-'));
  const target = path.join(folder, 'project');
  fs.mkdirSync(target);
  for (const entry of [
    'main.ts',
    'lib',
    'imports',
    'schemas',
    'config',
    'dist',
    'cdk8s.yaml',
    'package.json',
    'package-lock.json',
    'tsconfig.json',
    'scripts',
    'Makefile',
  ]) {
    const source = path.join(PROJECT_ROOT, entry);
    // Timestamps kept: make must see the shared node_modules as up to date (else it would reinstall them).
    if (fs.existsSync(source)) fs.cpSync(source, path.join(target, entry), { recursive: true, preserveTimestamps: true });
  }
  fs.symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(target, 'node_modules'));
  return target;
}

export function removeProjectCopy(project: string): void {
  fs.rmSync(path.dirname(project), { recursive: true, force: true });
}

/** A hash of every file under `folder`: names and bytes, so any change shows. */
export function treeHash(folder: string): string {
  if (!fs.existsSync(folder)) return 'absent';
  return execFileSync('bash', ['-c', 'find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum'], {
    cwd: folder,
    encoding: 'utf8',
  }).trim();
}

export function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false', ...env } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
