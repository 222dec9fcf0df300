import { LABEL } from '../core/labels';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { CapacityError, capacityReport, workloadDemands, type CapacityReport } from '../validation/capacity';
import { ConfigError, loadConfigFile, type EnvironmentConfig } from '../config/load';
import { environmentReadme } from '../output/environment-readme';
import { reviewerView } from './reviewer-view';
import { listFiles, replaceFolders, withOutputLock } from '../output/atomic-tree';
import { describeObject, GENERATED_MARK, type KubernetesObject, renderEnvironment, type RenderedEnvironment } from '../output/render';
import { checkYamlReading } from '../output/yaml-text';
import { PrefectApp } from './prefect-app';
import { RouteTableError } from '../edge/routes/routes';
import { ConfigurationFault } from '../core/configuration-fault';
import { customize, placedControllers } from '../customize/customize';
import { checkConventions } from '../validation/conventions';
import { immutableChangeSteps, immutableChanges, removalCascade, removalSteps } from '../validation/immutable-fields';
import type { StrictValidator } from '../validation/strict-validator';
import type { CheckedObjects, RenderedTexts } from '../validation/validation-caches';
import { formatProblem } from '../validation/strict-validator';

/** Synthesized output that failed validation: one line per problem. */
export class SynthesisError extends Error {
  constructor(public readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'SynthesisError';
  }
}

export interface SynthesisOptions {
  /** The folder holding `config/`; paths in messages are relative to it. */
  readonly projectRoot: string;
  /** @default '<projectRoot>/config' */
  readonly configDir?: string;
  /** @default '<projectRoot>/dist' */
  readonly outDir?: string;
  /**
   * The environments to synthesize. When omitted, every `config/<env>.yaml`, and folders of
   * `dist/` without a configuration are removed.
   */
  readonly environments?: readonly string[];
  /** Validates every object against its upstream schema before anything is written. */
  readonly validator: StrictValidator;
  /**
   * Objects that passed every check in an earlier successful synthesis by the same build and
   * schemas: they are not checked again. @default none: every object is checked
   */
  readonly checked?: CheckedObjects;
  /**
   * The YAML of objects rendered by an earlier successful synthesis of the same build: an
   * object whose JSON is unchanged is not dumped again. @default none: every object is dumped
   */
  readonly rendered?: RenderedTexts;
  /**
   * Write a change to a field the API server will not update (see immutableChanges) instead of
   * refusing it. @default false
   */
  readonly allowImmutableChanges?: boolean;
}

export interface SynthesisResult {
  readonly environments: readonly BuiltEnvironment[];
  /** Folders of `dist/` that were written or removed (unchanged ones are left as they were). */
  readonly changed: readonly string[];
}

/** What the configuration folder holds beside the environment files: the editor's schema. */
const CONFIG_FOLDER_EXTRAS = new Set(['schema.json']);
const ENVIRONMENT_FILE = /^([a-z0-9](?:[a-z0-9-]*[a-z0-9])?)\.yaml$/;

/** Why a file of the configuration folder is not an environment file, for the message. */
function notAnEnvironmentFile(entry: fs.Dirent): string {
  const name = entry.name;
  if (entry.isDirectory()) return 'a folder: expected only files, one config/<environment>.yaml per environment';
  const stem = name.replace(/\.[^.]*$/, '');
  if (/\.yml$/i.test(name)) return `expected the extension ".yaml" (config/${stem.toLowerCase()}.yaml)`;
  if (/\.yaml$/i.test(name) && ENVIRONMENT_FILE.test(`${stem.toLowerCase()}.yaml`) && stem !== stem.toLowerCase()) {
    return `expected a lower-case name, such as config/${stem.toLowerCase()}.yaml (the name is the environment's)`;
  }
  return 'expected config/<environment>.yaml, the name in lower-case letters, digits and "-" (such as config/eu-prod.yaml); nothing else belongs in config/ but schema.json';
}

/**
 * The environments that have a configuration file, sorted. Anything else in the folder is a
 * configuration error naming it (a file that is silently not synthesized is worse), and so is a
 * folder with no environment (which would otherwise remove every environment from dist/).
 */
export function listEnvironments(configDir: string, displayDir = 'config'): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(configDir, { withFileTypes: true });
  } catch {
    throw new ConfigError([
      `${displayDir}/: not found: expected a folder with one file per environment, config/<environment>.yaml (such as config/prod.yaml)`,
    ]);
  }
  const problems: string[] = [];
  const environments: string[] = [];
  for (const entry of entries) {
    // Hidden files are editors' and tools' (swap files, .DS_Store), never an environment.
    if (entry.name.startsWith('.') || CONFIG_FOLDER_EXTRAS.has(entry.name)) continue;
    const match = ENVIRONMENT_FILE.exec(entry.name);
    if (match && !entry.isDirectory()) environments.push(match[1] as string);
    else problems.push(`${displayDir}/${entry.name}: not an environment file: ${notAnEnvironmentFile(entry)}`);
  }
  if (problems.length === 0 && environments.length === 0) {
    problems.push(
      `${displayDir}/: no environment file: expected at least one config/<environment>.yaml (such as config/prod.yaml); with none there is nothing to synthesize`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return environments.sort();
}

/** Reads every requested configuration; all problems of all files are reported together. */
export function loadEnvironments(projectRoot: string, configDir: string, environments: readonly string[]): EnvironmentConfig[] {
  const problems: string[] = [];
  const configs: EnvironmentConfig[] = [];
  for (const environment of environments) {
    const file = path.join(configDir, `${environment}.yaml`);
    try {
      configs.push(loadConfigFile(file, path.relative(projectRoot, file)));
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return configs;
}

/** One environment built in memory: its files, and the capacity of its node pool. */
export interface BuiltEnvironment extends RenderedEnvironment {
  readonly capacity: CapacityReport;
}

/**
 * Builds one environment's objects and files in memory, with `README.md`, the reviewer's view
 * (traffic diagram, routes, capacity, object counts). Pure: no file system, no clock.
 */
export function buildEnvironment(config: EnvironmentConfig, configFile: string, texts?: RenderedTexts): BuiltEnvironment {
  let app: PrefectApp;
  let rendered: RenderedEnvironment;
  try {
    app = new PrefectApp(config);
    rendered = renderEnvironment(
      app,
      configFile,
      texts && { render: (json, dump) => texts.render(config.environment, json, dump) },
      (objects) => customize(objects, config),
    );
  } catch (error) {
    // The route table is the configuration's (routes, prefect.services): its problems are configuration errors.
    if (error instanceof RouteTableError) {
      throw new ConfigError(
        error.problems.map((problem) => `${configFile}: ${problem.startsWith('routes.') ? problem : `routes: ${problem}`}`),
      );
    }
    // What a builder finds wrong with the sizes or wiring the configuration asks for.
    if (error instanceof ConfigurationFault) {
      throw new ConfigError(error.problems.map((problem) => `${configFile}: ${problem.field}: ${problem.expectation}`));
    }
    throw error;
  }
  const injectedNamespaces = new Set(
    rendered.objects
      .filter(({ object }) => object.kind === 'Namespace' && object.metadata.labels?.['istio-injection'] === 'enabled')
      .map(({ object }) => object.metadata.name),
  );
  const capacity = capacityReport(
    config,
    workloadDemands(rendered.objects, {
      injectedNamespaces,
      platformWorkloads: placedControllers(app.platformWorkloads, config),
    }),
  );
  // What the configuration asks for does not fit the node pools it describes: a configuration
  // error (the sizes, replicas or pools in it must change), with the table.
  if (!capacity.fits) {
    const [verdict, ...table] = new CapacityError(capacity).message.split('\n');
    throw new ConfigError([
      `${configFile}: cluster: expected node pools that hold every pod at its minimum replicas: ${verdict}\n${table.map((line) => `  ${line}`).join('\n')}`,
    ]);
  }
  const files = new Map(rendered.files);
  files.set('README.md', environmentReadme(reviewerView(app, rendered, capacity, configFile)));
  const sorted = new Map([...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { ...rendered, files: sorted, capacity };
}

/** Every reason why the rendered output must not reach `dist/`. */
export function checkEnvironment(rendered: RenderedEnvironment, validator: StrictValidator, checked?: CheckedObjects): string[] {
  const problems: string[] = [];
  const where = (file: string) => `dist/${rendered.environment}/${file}`;
  for (const { file, object, text } of rendered.objects) {
    if (checked?.has(rendered.environment, text)) {
      checked.add(rendered.environment, text);
      continue;
    }
    const before = problems.length;
    for (const problem of validator.validate(object)) {
      problems.push(`${where(file)}: ${formatProblem(problem)}`);
    }
    for (const problem of checkConventions(object)) {
      problems.push(`${where(file)}: ${describeObject(object)}: ${problem}`);
    }
    for (const problem of checkYamlReading(text, object)) {
      problems.push(`${where(file)}: ${problem.path}: ${problem.message}`);
    }
    if (problems.length === before) checked?.add(rendered.environment, text);
  }
  return problems;
}

const MAX_SHOWN = 160;

function shown(value: unknown): string {
  const text = value === undefined ? '(absent)' : JSON.stringify(value);
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
}

/**
 * The objects whose committed version in `outDir` has a field the new one changes and the API
 * server will not update, and the committed objects no longer generated whose deletion cascades.
 */
function refusedUpdates(rendered: RenderedEnvironment, outDir: string, projectRoot: string): string[] {
  const problems: string[] = [];
  for (const { file, object, text } of rendered.objects) {
    const committedFile = path.join(outDir, rendered.environment, file);
    let committedText: string;
    try {
      committedText = fs.readFileSync(committedFile, 'utf8');
    } catch {
      continue; // a new object
    }
    if (committedText.endsWith(text)) continue;
    let committed: unknown;
    try {
      committed = yaml.load(committedText);
    } catch {
      continue; // not ours to judge: it is replaced whole
    }
    if (committed === null || typeof committed !== 'object') continue;
    for (const change of immutableChanges(committed as KubernetesObject, object)) {
      problems.push(
        `${path.relative(projectRoot, committedFile)}: ${describeObject(object)}: ${change.field} changes (${change.path}: ${shown(change.before)} → ${shown(change.after)}), which the API server refuses to update, so Flux's apply would fail. To roll it out, write it with --allow-immutable-changes (make synth ALLOW_IMMUTABLE_CHANGES=1); once it is committed, ${immutableChangeSteps(object, change)}`,
      );
    }
  }
  for (const file of committedFiles(path.join(outDir, rendered.environment))) {
    if (rendered.files.has(file)) continue;
    const committedFile = path.join(outDir, rendered.environment, file);
    let committed: unknown;
    try {
      committed = yaml.load(fs.readFileSync(committedFile, 'utf8'));
    } catch {
      continue;
    }
    if (committed === null || typeof committed !== 'object' || !('kind' in committed) || !('metadata' in committed)) continue;
    const object = committed as KubernetesObject;
    const cascade = removalCascade(object);
    if (cascade === undefined) continue;
    problems.push(
      `${path.relative(projectRoot, committedFile)}: ${describeObject(object)} is no longer generated (${cascade}). To remove it, ${removalSteps(object)}; then write the change with --allow-immutable-changes (make synth ALLOW_IMMUTABLE_CHANGES=1)`,
    );
  }
  return problems;
}

/**
 * The files under `outDir` that a synthesis would delete and that the generator did not write:
 * those in an environment's folder that the new tree lacks, and all in a folder to be removed.
 */
function foreignFiles(outDir: string, trees: ReadonlyMap<string, ReadonlyMap<string, string>>, remove: readonly string[]): string[] {
  const foreign: string[] = [];
  const folders: Array<[string, ReadonlyMap<string, string> | undefined]> = [
    ...[...trees].map(([folder, files]) => [folder, files] as [string, ReadonlyMap<string, string>]),
    ...remove.map((folder) => [folder, undefined] as [string, undefined]),
  ];
  for (const [folder, files] of folders) {
    const root = path.join(outDir, folder);
    if (!fs.existsSync(root)) continue;
    for (const file of listFiles(root)) {
      if (!files?.has(file) && !carriesGeneratedMark(path.join(root, file))) foreign.push(`${folder}/${file}`);
    }
  }
  return foreign.sort();
}

function carriesGeneratedMark(file: string): boolean {
  try {
    const descriptor = fs.openSync(file, 'r');
    try {
      const head = Buffer.alloc(512);
      const read = fs.readSync(descriptor, head, 0, head.length, 0);
      return head.subarray(0, read).toString('utf8').includes(GENERATED_MARK);
    } finally {
      fs.closeSync(descriptor);
    }
  } catch {
    return false;
  }
}

/** The YAML files under `folder`, as paths inside it ("flux/kustomization.flux-system.x.yaml"); none when it is missing. */
function committedFiles(folder: string): string[] {
  return fs.existsSync(folder) ? listFiles(folder).filter((file) => file.endsWith('.yaml')) : [];
}

/**
 * Customer-Managed Prefect upgrades one release at a time (upgrade-guide: "You must update Prefect
 * versions one release … at a time"). Whether a new tag is the next release, nothing in it says:
 * the release list is Prefect's. So a changed release is announced, with the rule, whenever the
 * services' version differs from the committed one.
 */
function releaseChanges(rendered: RenderedEnvironment, outDir: string): string[] {
  const notes = new Set<string>();
  for (const { file, object, text } of rendered.objects) {
    const version = object.metadata.labels?.[LABEL.version];
    if (object.kind !== 'Deployment' || object.metadata.labels?.[LABEL.component] !== 'api' || version === undefined) continue;
    let committed: { metadata?: { labels?: Record<string, string> } } | undefined;
    try {
      const committedText = fs.readFileSync(path.join(outDir, rendered.environment, file), 'utf8');
      if (committedText.endsWith(text)) continue; // unchanged, and so is its release
      committed = yaml.load(committedText) as typeof committed;
    } catch {
      continue;
    }
    const before = committed?.metadata?.labels?.[LABEL.version];
    if (before === undefined || before === version) continue;
    notes.add(
      `Prefect's release changes from ${before} to ${version}: upgrade one release at a time (Prefect's upgrade guide), so ${version} must be the release right after ${before}; otherwise go through each release between them, one commit and one reconciliation each, and read the guide's notes of every release on the way`,
    );
  }
  return [...notes];
}

/**
 * Synthesizes `dist/` atomically: every environment is built and validated in memory, then
 * swapped in. On any error (configuration, a construct throwing, validation) nothing under
 * `dist/` changes.
 */
export function synthesize(options: SynthesisOptions): SynthesisResult {
  const outDir = options.outDir ?? path.join(options.projectRoot, 'dist');
  // One synthesis at a time per output, and it first finishes a swap that a killed run left.
  return withOutputLock(outDir, () => synthesizeLocked(options, outDir));
}

function synthesizeLocked(options: SynthesisOptions, outDir: string): SynthesisResult {
  const configDir = options.configDir ?? path.join(options.projectRoot, 'config');
  const all = listEnvironments(configDir, path.relative(options.projectRoot, configDir) || '.');
  const requested = options.environments ?? all;
  const configs = loadEnvironments(options.projectRoot, configDir, requested);

  const environments = configs.map((config) =>
    buildEnvironment(config, path.relative(options.projectRoot, path.join(configDir, `${config.environment}.yaml`)), options.rendered),
  );
  const problems = environments.flatMap((rendered) => checkEnvironment(rendered, options.validator, options.checked));
  if (problems.length > 0) throw new SynthesisError(problems);
  if (!options.allowImmutableChanges) {
    const refused = environments.flatMap((rendered) => refusedUpdates(rendered, outDir, options.projectRoot));
    if (refused.length > 0) throw new SynthesisError(refused);
  }

  const announced = environments.map((rendered) => ({
    ...rendered,
    warnings: [...rendered.warnings, ...releaseChanges(rendered, outDir)],
  }));

  const trees = new Map(announced.map((rendered) => [rendered.environment, rendered.files] as const));
  const stale =
    options.environments === undefined && fs.existsSync(outDir)
      ? fs
          .readdirSync(outDir, { withFileTypes: true })
          .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.') && !all.includes(entry.name))
          .map((entry) => entry.name)
      : [];
  const foreign = foreignFiles(outDir, trees, stale);
  if (foreign.length > 0) {
    throw new SynthesisError(
      foreign.map(
        (file) =>
          `${path.relative(options.projectRoot, path.join(outDir, file))}: not written by prefect-cdk8s (it has no "Generated by prefect-cdk8s" line), and synthesis would delete it: dist/ belongs to the generator. Move it out of dist/ (keep notes beside config/), then run make synth again`,
      ),
    );
  }
  const changed = replaceFolders(outDir, trees, stale);
  options.checked?.save();
  options.rendered?.save();
  return { environments: announced, changed };
}
