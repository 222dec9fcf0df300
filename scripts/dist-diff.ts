import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';

/*
 * What changed in dist/ against a Git revision (default HEAD), per object: added, removed and
 * changed objects with the changed fields — for pull-request descriptions.
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

function changes(before: unknown, after: unknown, at: string): Change[] {
  const isMapping = (value: unknown): value is Record<string, unknown> =>
    value !== null && typeof value === 'object' && !Array.isArray(value);
  if (isMapping(before) && isMapping(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => changes(before[key], after[key], at ? `${at}.${key}` : key));
  }
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    return before.flatMap((item, index) => changes(item, after[index], `${at}[${index}]`));
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

const lines: string[] = [];
let added = 0;
let removed = 0;
let changed = 0;
for (const file of [...new Set([...before.keys(), ...after.keys()])].sort()) {
  const environment = file.split('/')[1];
  if (!before.has(file)) {
    added++;
    lines.push(`+ ${environment}: ${describe(after.get(file))} (${file})`);
  } else if (!after.has(file)) {
    removed++;
    lines.push(`- ${environment}: ${describe(before.get(file))} (${file})`);
  } else {
    const fields = changes(before.get(file), after.get(file), '');
    if (fields.length === 0) continue;
    changed++;
    lines.push(`~ ${environment}: ${describe(after.get(file))} (${file})`);
    for (const field of fields) lines.push(`    ${field.path}: ${show(field.before)} -> ${show(field.after)}`);
  }
}
console.log(`dist/ against ${revision}: ${added} added, ${removed} removed, ${changed} changed`);
for (const line of lines) console.log(line);
