import { durationMilliseconds } from '../lib/core/duration';
import type { KubernetesObject } from '../lib/output/render';
import { loadSchemaBundle } from '../lib/validation/schema-bundle';
import { PROJECT_ROOT } from './helpers';

/*
 * The strict validator checks the CRDs' OpenAPI schemas but not their CEL rules
 * (x-kubernetes-validations), which the API server enforces too. This evaluates the rule
 * shapes that occur on the fields this project sets — durations with a minimum, and "exactly
 * / at most / at least one of these fields" — and reports any other rule it meets on a set
 * field as unchecked, so that a new kind of rule is noticed rather than silently passed.
 */

interface Schema {
  readonly properties?: Record<string, Schema>;
  readonly items?: Schema;
  readonly additionalProperties?: Schema | boolean;
  readonly 'x-kubernetes-validations'?: ReadonlyArray<{ readonly rule: string; readonly message?: string }>;
}

export interface RuleReport {
  readonly violations: string[];
  readonly unchecked: string[];
}

let crdSchemas: Map<string, Schema> | undefined;

/** The CRD schemas of the committed bundle, which keeps their CEL rules. */
function schemas(): Map<string, Schema> {
  if (crdSchemas) return crdSchemas;
  crdSchemas = new Map();
  for (const [groupKind, crd] of Object.entries(loadSchemaBundle(PROJECT_ROOT).crds)) {
    const [group, kind] = groupKind.split('/') as [string, string];
    for (const [version, { schema }] of Object.entries(crd.versions)) crdSchemas.set(`${group}/${version}/${kind}`, schema as Schema);
  }
  return crdSchemas;
}

function evaluate(rule: string, value: unknown): boolean | undefined {
  const minimum = /^duration\(self\) >= duration\('([^']+)'\)$/.exec(rule);
  if (minimum) {
    const actual = typeof value === 'string' ? durationMilliseconds(value) : undefined;
    return actual !== undefined && actual >= (durationMilliseconds(minimum[1] as string) as number);
  }
  const has = (field: string) => typeof value === 'object' && value !== null && (value as Record<string, unknown>)[field] !== undefined;
  const list = /^\[((?:has\(self\.\w+\),?)+)\]\.filter\(x,\s*x\s*==\s*true\)\.size\(\) (==|>=|<=) (\d+)$/.exec(rule);
  if (list) {
    const count = [...(list[1] as string).matchAll(/has\(self\.(\w+)\)/g)].filter(([, field]) => has(field as string)).length;
    return compare(count, list[2] as string, Number(list[3]));
  }
  const sum = /^((?:\(has\(self\.\w+\) \? 1 : 0\)(?: \+ )?)+) (==|>=|<=) (\d+)$/.exec(rule);
  if (sum) {
    const count = [...(sum[1] as string).matchAll(/has\(self\.(\w+)\)/g)].filter(([, field]) => has(field as string)).length;
    return compare(count, sum[2] as string, Number(sum[3]));
  }
  const compact = rule.replace(/\s+/g, '');
  const either = /^\(has\(self\.(\w+)\)&&!has\(self\.(\w+)\)\)\|\|\(!has\(self\.\1\)&&has\(self\.\2\)\)$/.exec(compact);
  if (either) return has(either[1] as string) !== has(either[2] as string);
  if (compact === 'self.all(key,!key.contains("*"))') return Object.keys(value as object).every((key) => !key.includes('*'));
  if (compact === 'self.all(key,key.size()!=0)') return Object.keys(value as object).every((key) => key.length > 0);
  if (compact === '!self.contains("*")') return typeof value === 'string' && !value.includes('*');
  if (
    compact ===
    '(has(self.serviceAccounts)||has(self.notServiceAccounts))?(!has(self.principals)&&!has(self.notPrincipals)&&!has(self.namespaces)&&!has(self.notNamespaces)):true'
  ) {
    return (
      !(has('serviceAccounts') || has('notServiceAccounts')) || !['principals', 'notPrincipals', 'namespaces', 'notNamespaces'].some(has)
    );
  }
  if (
    compact ===
    'has(self.portLevelMtls)?(((has(self.selector)&&has(self.selector.matchLabels))?self.selector.matchLabels:{}).size()>0):true'
  ) {
    const selector = (value as { selector?: { matchLabels?: object } }).selector;
    return !has('portLevelMtls') || Object.keys(selector?.matchLabels ?? {}).length > 0;
  }
  return undefined;
}

function compare(count: number, operator: string, bound: number): boolean {
  return operator === '==' ? count === bound : operator === '>=' ? count >= bound : count <= bound;
}

function walk(value: unknown, schema: Schema | undefined, where: string, report: RuleReport): void {
  if (!schema || value === undefined || value === null) return;
  for (const { rule, message } of schema['x-kubernetes-validations'] ?? []) {
    const result = evaluate(rule, value);
    if (result === undefined) report.unchecked.push(`${where}: ${rule}`);
    else if (!result) report.violations.push(`${where}: ${message ?? rule} (${JSON.stringify(value)})`);
  }
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) walk(item, schema.items, `${where}[${index}]`, report);
  } else if (typeof value === 'object') {
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      const childSchema =
        schema.properties?.[key] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
      walk(child, childSchema, where ? `${where}.${key}` : key, report);
    }
  }
}

/** Evaluates the CEL rules of `object`'s CRD on it; core kinds have none here. */
export function checkCrdRules(object: KubernetesObject, report: RuleReport = { violations: [], unchecked: [] }): RuleReport {
  const [group, version] = object.apiVersion.includes('/') ? object.apiVersion.split('/') : ['', object.apiVersion];
  const schema = schemas().get(`${group}/${version}/${object.kind}`);
  if (schema) walk(object, schema, `${object.kind} ${object.metadata.namespace ?? '-'}/${object.metadata.name}`, report);
  return report;
}
