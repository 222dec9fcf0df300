import * as fs from 'node:fs';
import * as path from 'node:path';
import { runningSourceSha256 } from './lib/core/code-cache';
import { formatCapacity } from './lib/validation/capacity';
import { ConfigError } from './lib/config/load';
import { CONFIGURATION_PROBLEMS_FILE, configurationProblemsText } from './lib/app/cdk8s-configuration-check';
import type { BuiltEnvironment } from './lib/app/synthesize';
import { synthesize, SynthesisError } from './lib/app/synthesize';
import { OutputLockedError } from './lib/output/atomic-tree';
import { loadSchemaBundle, SchemaBundleError, sha256 } from './lib/validation/schema-bundle';
import { StrictValidator } from './lib/validation/strict-validator';
import { FileCheckedObjects, FileRenderedTexts, FileValidatorStore } from './lib/validation/validation-caches';

/*
 * Synthesizes dist/<env>/ from config/<env>.yaml, atomically.
 *
 *   main [--env NAME]... [--allow-immutable-changes]
 *     all environments when no --env is given; --allow-immutable-changes (or
 *     ALLOW_IMMUTABLE_CHANGES=1) writes a change to a field the API server will not update
 *
 * Exit status: 0 written (or already up to date), 2 invalid configuration, 1 any other failure.
 * On failure nothing under dist/ changes.
 */

function projectRoot(): string {
  // Run from the sources (tsx main.ts) or from the bundle (build/main.js).
  for (let folder = __dirname; ; folder = path.dirname(folder)) {
    if (fs.existsSync(path.join(folder, 'cdk8s.yaml'))) return folder;
    if (path.dirname(folder) === folder) throw new Error('cannot find the project folder (the one holding cdk8s.yaml)');
  }
}

interface Arguments {
  readonly environments?: string[];
  readonly allowImmutableChanges: boolean;
}

function parseArguments(argv: readonly string[]): Arguments {
  const environments: string[] = [];
  // The cdk8s CLI passes no arguments: the same switch as an environment variable.
  let allowImmutableChanges = process.env.ALLOW_IMMUTABLE_CHANGES === '1';
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index] as string;
    if (argument === '--allow-immutable-changes') {
      allowImmutableChanges = true;
    } else if (argument === '--env' && argv[index + 1]) {
      environments.push(...(argv[++index] as string).split(',').filter(Boolean));
    } else if (argument.startsWith('--env=')) {
      environments.push(...argument.slice('--env='.length).split(',').filter(Boolean));
    } else {
      throw new ConfigError([`unknown argument ${JSON.stringify(argument)}; usage: main [--env NAME]... [--allow-immutable-changes]`]);
    }
  }
  return { environments: environments.length > 0 ? environments : undefined, allowImmutableChanges };
}

/**
 * Under `cdk8s synth`, the CLI empties CDK8S_OUTDIR (a scratch folder, see cdk8s.yaml), captures
 * the app's standard output, expects manifests in that folder, and lists them. dist/ is written
 * atomically above; this writes the same objects, one file per environment, for the CLI and its
 * validation plugins.
 */
function cdk8sCliOutdir(root: string): string | undefined {
  const outdir = process.env.CDK8S_OUTDIR;
  if (!outdir) return undefined;
  const resolved = path.resolve(root, outdir);
  // Never dist/, the project, or a folder holding it: only a scratch folder of the CLI's.
  const relative = path.relative(resolved, root);
  if (resolved === path.join(root, 'dist') || relative === '' || !relative.startsWith('..')) return undefined;
  return resolved;
}

function writeCdk8sCliOutput(outdir: string, environments: readonly BuiltEnvironment[]): void {
  fs.mkdirSync(outdir, { recursive: true });
  for (const environment of environments) {
    fs.writeFileSync(path.join(outdir, `${environment.environment}.k8s.yaml`), environment.objects.map(({ text }) => text).join('---\n'));
  }
}

/**
 * The objects checked, and the YAML rendered, by an earlier run of this very build: only when
 * running the bundle (build/app.js), whose bytes identify the generator; from the sources,
 * everything is checked and rendered.
 */
function buildCaches(root: string, bundleId: string): { checked?: FileCheckedObjects; rendered?: FileRenderedTexts } {
  if (!__filename.endsWith('.js')) return {};
  // The launcher (build/main.js) hashed the bundle already to find its code cache.
  const build = runningSourceSha256() ?? sha256(fs.readFileSync(__filename, 'utf8'));
  return { checked: new FileCheckedObjects(root, bundleId, build), rendered: new FileRenderedTexts(root, build) };
}

function main(): number {
  let cliOutdir: string | undefined;
  // The cdk8s CLI discards what the app prints on standard output: report on standard error there.
  const report = process.env.CDK8S_OUTDIR ? console.error : console.log;
  try {
    const root = projectRoot();
    cliOutdir = cdk8sCliOutdir(root);
    const { environments, allowImmutableChanges } = parseArguments(process.argv.slice(2));
    const bundle = loadSchemaBundle(root);
    const validator = new StrictValidator(bundle, { store: new FileValidatorStore(root, bundle.id) });
    const result = synthesize({
      projectRoot: root,
      environments,
      validator,
      ...buildCaches(root, bundle.id),
      allowImmutableChanges,
    });
    if (cliOutdir) writeCdk8sCliOutput(cliOutdir, result.environments);
    for (const environment of result.environments) {
      const perLayer = new Map<string, number>();
      for (const { layer } of environment.objects) perLayer.set(layer, (perLayer.get(layer) ?? 0) + 1);
      const layers = [...perLayer].map(([layer, count]) => `${layer} ${count}`).join(', ');
      const state = result.changed.includes(environment.environment) ? 'written' : 'unchanged';
      report(`dist/${environment.environment}: ${environment.objects.length} objects (${layers}), ${state}`);
      report(formatCapacity(environment.capacity).replace(/^/gm, '  '));
      // Warnings go with the report: they are advice about a successful synthesis, not failures.
      for (const warning of environment.warnings) report(`dist/${environment.environment}: warning: ${warning}`);
    }
    for (const removed of result.changed.filter((folder) => !result.environments.some((e) => e.environment === folder))) {
      report(`dist/${removed}: removed (no config/${removed}.yaml)`);
    }
    return 0;
  } catch (error) {
    const status = explainFailure(error);
    if (cliOutdir) {
      // A failing app makes the cdk8s CLI print its own stack trace. An app that leaves no output
      // folder makes it say "synthesis failed" in one line and exit 1: remove the scratch folder.
      fs.rmSync(cliOutdir, { recursive: true, force: true });
      // A configuration error instead leaves the problems for the validation plugin, which fails
      // the CLI with its status 2 (lib/app/cdk8s-configuration-check.ts) — when it runs.
      if (error instanceof ConfigError && process.env.CDK8S_RECORD_CONSTRUCT_METADATA === 'true') {
        fs.mkdirSync(cliOutdir, { recursive: true });
        fs.writeFileSync(path.join(cliOutdir, CONFIGURATION_PROBLEMS_FILE), configurationProblemsText(error.problems));
      }
      return 0;
    }
    return status;
  }
}

/** Prints why synthesis failed; returns the exit status. */
function explainFailure(error: unknown): number {
  if (error instanceof ConfigError) {
    for (const problem of error.problems) console.error(problem);
    console.error('Invalid configuration: dist/ was not changed.');
    return 2;
  }
  if (error instanceof OutputLockedError) {
    console.error(error.message);
    return 1;
  }
  if (error instanceof SchemaBundleError) {
    console.error(error.message);
    console.error('Synthesis failed: dist/ was not changed.');
    return 1;
  }
  if (error instanceof SynthesisError) {
    for (const problem of error.problems) console.error(problem);
    console.error(`${error.problems.length} problem(s) in the synthesized objects: dist/ was not changed.`);
    return 1;
  }
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  console.error('Synthesis failed: dist/ was not changed.');
  return 1;
}

process.exitCode = main();
