import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import type { KubernetesObject } from '../lib/output/render';
import { immutableChanges } from '../lib/validation/immutable-fields';

/*
 * What changed in dist/ against a Git revision (default HEAD), per object: added, removed and
 * changed objects with the changed fields — for pull-request descriptions. Lists of named items
 * (containers, env, ports, volumes …) are compared by name; a hash-named Job replaced by its next
 * version shows as one change; a change the API server refuses to update is marked `!`; the
 * per-environment READMEs' changed lines follow.
 *
 *   npx tsx scripts/dist-diff.ts [revision]      (make diff, REV=origin/main)
 */

interface Change {
  readonly path: string;
  readonly before: unknown;
  readonly after: unknown;
}

const revision = process.argv[2] ?? 'HEAD';
const root = path.resolve(__dirname, '..');

function git(...args: string[]): string {
  return execFileSync('git', args, { cwd: root, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
}

function objectFiles(files: readonly string[]): string[] {
  return files.filter((file) => file.endsWith('.yaml') && path.basename(file) !== 'kustomization.yaml').sort();
}

function listWorkingTree(folder: string, prefix = ''): string[] {
  if (!fs.existsSync(folder)) return [];
  return fs.readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    return entry.isDirectory() ? listWorkingTree(path.join(folder, entry.name), relative) : [`dist/${relative}`];
  });
}

function describe(document: unknown): string {
  const object = document as { kind?: string; metadata?: { name?: string; namespace?: string } } | undefined;
  const namespace = object?.metadata?.namespace ? `${object.metadata.namespace}/` : '';
  return `${object?.kind ?? '?'} ${namespace}${object?.metadata?.name ?? '?'}`;
}

const isMapping = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** The names of a list's items when every item is a mapping with a distinct string `name`. */
function names(list: readonly unknown[]): string[] | undefined {
  const found = list.map((item) => (isMapping(item) && typeof item.name === 'string' ? item.name : undefined));
  return found.every((name) => name !== undefined) && new Set(found).size === found.length ? (found as string[]) : undefined;
}

function changes(before: unknown, after: unknown, at: string): Change[] {
  if (isMapping(before) && isMapping(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => changes(before[key], after[key], at ? `${at}.${key}` : key));
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const beforeNames = names(before);
    const afterNames = names(after);
    if (beforeNames && afterNames && (before.length > 0 || after.length > 0)) {
      const byName = (list: readonly unknown[], keys: readonly string[]) => new Map(keys.map((name, index) => [name, list[index]]));
      const old = byName(before, beforeNames);
      const next = byName(after, afterNames);
      const all = [...beforeNames, ...afterNames.filter((name) => !old.has(name))];
      const reordered = beforeNames.filter((name) => next.has(name)).join('\0') !== afterNames.filter((name) => old.has(name)).join('\0');
      return [
        ...all.flatMap((name) => changes(old.get(name), next.get(name), `${at}[name=${name}]`)),
        ...(reordered ? [{ path: `${at} (order)`, before: beforeNames, after: afterNames }] : []),
      ];
    }
    if (before.length === after.length) return before.flatMap((item, index) => changes(item, after[index], `${at}[${index}]`));
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [{ path: at || '(document)', before, after }];
}

function show(value: unknown): string {
  if (value === undefined) return '(absent)';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

let old: string[];
try {
  old = objectFiles(git('ls-tree', '-r', '--name-only', revision, '--', 'dist').split('\n').filter(Boolean));
} catch {
  console.error(`cannot read dist/ at ${revision}`);
  process.exit(2);
}
const current = objectFiles(listWorkingTree(path.join(root, 'dist')));
const load = (text: string) => yaml.load(text);
const before = new Map(old.map((file) => [file, load(git('show', `${revision}:${file}`))]));
const after = new Map(current.map((file) => [file, load(fs.readFileSync(path.join(root, file), 'utf8'))]));

/** `dist/<env>/<layer>/job.<namespace>.<base>` of a hash-named Job file (`…-<10 hex>.yaml`), else undefined. */
function jobBase(file: string): string | undefined {
  return /\/job\.[^/]+-[0-9a-f]{10}\.yaml$/.test(file) ? file.replace(/-[0-9a-f]{10}\.yaml$/, '') : undefined;
}

const lines: string[] = [];
let added = 0;
let removed = 0;
let changed = 0;
const pairs: Array<[string | undefined, string | undefined]> = [];
const replacedJobs = new Map<string, string>();
const gone = [...before.keys()].filter((file) => !after.has(file));
for (const file of [...after.keys()].filter((name) => !before.has(name))) {
  const base = jobBase(file);
  const previous = base === undefined ? undefined : gone.filter((candidate) => jobBase(candidate) === base);
  if (previous?.length === 1) replacedJobs.set(previous[0] as string, file);
}
for (const file of [...new Set([...before.keys(), ...after.keys()])].sort()) {
  if (replacedJobs.has(file)) pairs.push([file, replacedJobs.get(file)]);
  else if ([...replacedJobs.values()].includes(file)) continue;
  else pairs.push([before.has(file) ? file : undefined, after.has(file) ? file : undefined]);
}
for (const [oldFile, newFile] of pairs) {
  const environment = ((oldFile ?? newFile) as string).split('/')[1];
  if (oldFile === undefined) {
    added++;
    lines.push(`+ ${environment}: ${describe(after.get(newFile as string))} (${newFile})`);
  } else if (newFile === undefined) {
    removed++;
    lines.push(`- ${environment}: ${describe(before.get(oldFile))} (${oldFile})`);
  } else {
    const old = before.get(oldFile) as KubernetesObject;
    const next = after.get(newFile) as KubernetesObject;
    const fields = changes(old, next, '');
    if (fields.length === 0) continue;
    changed++;
    const replaced = oldFile === newFile ? '' : `, replaced by a new hash-named Job (was ${path.basename(oldFile)})`;
    lines.push(`~ ${environment}: ${describe(next)} (${newFile}${replaced})`);
    const refused = oldFile === newFile && isMapping(old) && isMapping(next) ? immutableChanges(old, next) : [];
    for (const change of refused) lines.push(`  ! ${change.field}: the API server refuses to update it (make synth says what to do)`);
    for (const field of fields) lines.push(`    ${field.path}: ${show(field.before)} -> ${show(field.after)}`);
  }
}
console.log(`dist/ against ${revision}: ${added} added, ${removed} removed, ${changed} changed`);
for (const line of lines) console.log(line);

// The per-environment READMEs (diagram, route table, Secrets, capacity), line by line.
const readmes = git('diff', '--no-color', '--unified=0', revision, '--', ':(glob)dist/*/README.md')
  .split('\n')
  .filter((line) => /^[+-](?![+-]{2} )/.test(line) || line.startsWith('diff --git'));
for (const line of readmes)
  console.log(line.startsWith('diff --git') ? `~ ${line.replace(/^diff --git a\/(\S+) .*$/, '$1')}` : `    ${line}`);
