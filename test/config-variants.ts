import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import type { RenderedEnvironment } from '../lib/output/render';
import { buildFromText, PROJECT_ROOT } from './helpers';

type Changes = Record<string, unknown>;

/** `base` with `changes` merged in: mappings merge, lists and scalars replace, null deletes. */
export function merge(base: Record<string, unknown>, changes: Changes): Record<string, unknown> {
  const result = { ...base };
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete result[key];
    else if (
      typeof value === 'object' &&
      !Array.isArray(value) &&
      typeof result[key] === 'object' &&
      result[key] !== null &&
      !Array.isArray(result[key])
    ) {
      result[key] = merge(result[key] as Record<string, unknown>, value as Changes);
    } else result[key] = value;
  }
  return result;
}

/** The text of config/<environment>.yaml with `changes` merged in (a list: one after the other). */
export function variantText(environment: string, changes: Changes | readonly Changes[]): string {
  const base = yaml.load(fs.readFileSync(path.join(PROJECT_ROOT, 'config', `${environment}.yaml`), 'utf8')) as Record<string, unknown>;
  return yaml.dump(
    (Array.isArray(changes) ? changes : [changes]).reduce<Record<string, unknown>>((config, change) => merge(config, change), base),
  );
}

/** Builds a variant of a committed environment in memory. */
export function buildVariant(environment: string, changes: Changes | readonly Changes[]): RenderedEnvironment {
  return buildFromText(variantText(environment, changes), environment);
}
