/**
 * Problems found by strict validation, and ajv's errors turned into one readable message each.
 */
import type { ErrorObject } from 'ajv';
import { QUANTITY_PATTERN } from './schema-preparation';

export interface ValidationProblem {
  /** Where the schema came from, e.g. `kubernetes-1.33` or `crd:istio.yaml`. */
  readonly source: string;
  readonly apiVersion: string;
  readonly kind: string;
  /** `metadata.name`, or `<unnamed>`. */
  readonly name: string;
  readonly namespace?: string;
  /** Readable path of the offending value, e.g. `spec.template.spec.containers[0].image`; '' is the object itself. */
  readonly path: string;
  /** e.g. `unknown field "imagePullPolicyy"`, `expected integer, got string "3"`. */
  readonly message: string;
}

/** One line: `<source>: <kind>/<namespace>/<name>: <path>: <message>` (no namespace segment when there is none). */
export function formatProblem(p: ValidationProblem): string {
  const object = p.namespace ? `${p.kind}/${p.namespace}/${p.name}` : `${p.kind}/${p.name}`;
  return `${p.source}: ${object}: ${p.path === '' ? '(root)' : p.path}: ${p.message}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// Errors → problems

const JUNCTORS = new Set(['anyOf', 'oneOf']);

/**
 * Turns ajv errors into one readable message per problem. anyOf/oneOf report an error per failed
 * branch plus their own; the branch errors explain the problem better, and type errors of several
 * branches at one path are merged ("expected string or number").
 *
 * @param rootSchema the compiled schema, to name the fields of a oneOf that matched several
 *   branches (its error carries only branch numbers). Errors inside a `$ref` have schema paths
 *   relative to the referenced schema, so a lookup is only trusted when it finds that shape.
 */
export function describeErrors(
  errors: readonly ErrorObject[],
  data: unknown,
  rootSchema?: unknown,
): Array<{ readonly path: string; readonly message: string }> {
  const dropped = new Set<ErrorObject>();
  const extra: Array<{ path: string; message: string; instancePath: string }> = [];

  for (const error of errors) {
    if (!JUNCTORS.has(error.keyword)) continue;
    const branchErrors = errors.filter((e) => e !== error && e.schemaPath.startsWith(`${error.schemaPath}/`));
    const passing = (error.params as { passingSchemas?: number[] | null }).passingSchemas;
    if (Array.isArray(passing)) {
      // oneOf matched several branches: the failures of the other branches are beside the point.
      for (const e of branchErrors) dropped.add(e);
      const exclusive = exclusiveFields(schemaAt(rootSchema, error.schemaPath));
      if (exclusive !== undefined) {
        dropped.add(error);
        extra.push({
          instancePath: error.instancePath,
          path: readablePath(error.instancePath, data),
          message: `must set ${exclusive.optional ? 'at most' : 'exactly'} one of ${quoteAll(exclusive.fields)}`,
        });
      }
      continue;
    }
    const required = branchErrors.filter((e) => e.keyword === 'required' && e.instancePath === error.instancePath);
    if (branchErrors.length > 0 && required.length === branchErrors.length) {
      // Branches that each require a field: "set one of".
      for (const e of branchErrors) dropped.add(e);
      dropped.add(error);
      const fields = [...new Set(required.map((e) => (e.params as { missingProperty: string }).missingProperty))];
      extra.push({
        instancePath: error.instancePath,
        path: readablePath(error.instancePath, data),
        message: `must set ${error.keyword === 'oneOf' ? 'exactly' : 'at least'} one of ${quoteAll(fields)}`,
      });
      continue;
    }
    const explained =
      branchErrors.length > 0 ||
      errors.some((e) => e !== error && !JUNCTORS.has(e.keyword) && isSameOrBelow(e.instancePath, error.instancePath));
    if (explained) dropped.add(error);
  }

  const remaining = errors.filter((e) => !dropped.has(e));
  const byInstance = new Map<string, ErrorObject[]>();
  for (const e of remaining) {
    const list = byInstance.get(e.instancePath) ?? [];
    list.push(e);
    byInstance.set(e.instancePath, list);
  }

  const result: Array<{ path: string; message: string }> = [];
  const seen = new Set<string>();
  const add = (problemPath: string, message: string): void => {
    const key = `${problemPath}\u0000${message}`;
    if (seen.has(key)) return;
    seen.add(key);
    result.push({ path: problemPath, message });
  };

  for (const [instancePath, group] of byInstance) {
    const value = valueAt(data, instancePath);
    const typeErrors = group.filter((e) => e.keyword === 'type');
    const others = group.filter((e) => e.keyword !== 'type');
    // A non-type error from inside a branch means that branch's type matched: it is the useful one.
    const branchMatched = others.some((e) => /\/(anyOf|oneOf)\/\d+\//.test(e.schemaPath));
    if (typeErrors.length > 0 && !branchMatched) {
      const expected = [...new Set(typeErrors.flatMap((e) => String((e.params as { type: string | string[] }).type).split(',')))];
      add(readablePath(instancePath, data), `expected ${joinOr(expected)}, got ${describeValue(value)}`);
      continue;
    }
    for (const e of others) {
      const described = describeError(e, value);
      add(readablePath(instancePath, data, described.field), described.message);
    }
  }
  for (const e of extra) add(e.path, e.message);
  return result;
}

function describeError(error: ErrorObject, value: unknown): { field?: string; message: string } {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return { field: String(params.additionalProperty), message: `unknown field "${String(params.additionalProperty)}"` };
    case 'required':
      return { field: String(params.missingProperty), message: `missing required field "${String(params.missingProperty)}"` };
    case 'enum':
      return {
        message: `unsupported value ${quote(value)}: must be one of ${(params.allowedValues as unknown[])
          .map((v) => JSON.stringify(v))
          .join(', ')}`,
      };
    case 'pattern':
      if (params.pattern === QUANTITY_PATTERN) {
        return { message: `${quote(value)} is not a quantity (e.g. 500m, 1, 1.5, 2Gi, 129e6)` };
      }
      return { message: `${quote(value)} does not match pattern ${String(params.pattern)}` };
    case 'format':
      return { message: `${quote(value)} is not a valid ${String(params.format)}` };
    case 'oneOf':
      if (Array.isArray(params.passingSchemas)) {
        return { message: `matches more than one of the alternatives (${params.passingSchemas.join(', ')}); set only one` };
      }
      return { message: `${describeValue(value)} matches none of the alternatives` };
    case 'anyOf':
      return { message: `${describeValue(value)} matches none of the alternatives` };
    case 'not':
      return { message: `${describeValue(value)} is not allowed here` };
    default:
      return { message: `${error.message ?? error.keyword}, got ${describeValue(value)}` };
  }
}

/** The schema at an ajv schemaPath (`#/properties/spec/oneOf`), if the path resolves. */
function schemaAt(rootSchema: unknown, schemaPath: string): unknown {
  if (rootSchema === undefined || !schemaPath.startsWith('#')) return undefined;
  let current: unknown = rootSchema;
  for (const segment of pointerSegments(schemaPath.slice(1))) {
    if (Array.isArray(current)) current = current[Number(segment)];
    else if (isObject(current)) current = current[segment];
    else return undefined;
  }
  return current;
}

/**
 * Reads the "one field of a set" idiom of oneOf branches: `{required: [a]}`, `{required: [b]}`,
 * optionally with `{not: {anyOf: [{required: [a]}, {required: [b]}]}}` (none set is fine too).
 */
function exclusiveFields(branches: unknown): { fields: string[]; optional: boolean } | undefined {
  if (!Array.isArray(branches)) return undefined;
  const fields: string[] = [];
  let optional = false;
  for (const branch of branches) {
    if (!isObject(branch)) return undefined;
    const keys = Object.keys(branch);
    if (keys.length === 1 && Array.isArray(branch.required) && branch.required.length === 1) {
      fields.push(String(branch.required[0]));
    } else if (keys.length === 1 && isObject(branch.not) && Array.isArray(branch.not.anyOf)) {
      optional = true;
    } else {
      return undefined;
    }
  }
  return fields.length > 0 ? { fields, optional } : undefined;
}

function quoteAll(fields: readonly string[]): string {
  return fields.map((field) => JSON.stringify(field)).join(', ');
}

function joinOr(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

function isSameOrBelow(instancePath: string, ancestor: string): boolean {
  return instancePath === ancestor || instancePath.startsWith(`${ancestor}/`);
}

function pointerSegments(instancePath: string): string[] {
  if (instancePath === '') return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function valueAt(data: unknown, instancePath: string): unknown {
  let current = data;
  for (const segment of pointerSegments(instancePath)) {
    if (Array.isArray(current)) current = current[Number(segment)];
    else if (isObject(current)) current = current[segment];
    else return undefined;
  }
  return current;
}

/** `/spec/containers/0/image` → `spec.containers[0].image`; odd keys are quoted: `labels["app.kubernetes.io/name"]`. */
function readablePath(instancePath: string, data: unknown, field?: string): string {
  let result = '';
  let current = data;
  const appendKey = (key: string): void => {
    result += /^[A-Za-z_$][\w$-]*$/.test(key) ? `${result === '' ? '' : '.'}${key}` : `[${JSON.stringify(key)}]`;
  };
  for (const segment of pointerSegments(instancePath)) {
    if (Array.isArray(current)) {
      result += `[${segment}]`;
      current = current[Number(segment)];
    } else {
      appendKey(segment);
      current = isObject(current) ? current[segment] : undefined;
    }
  }
  if (field !== undefined) appendKey(field);
  return result;
}

/** A value as written: strings quoted (and shortened), other scalars as JSON. */
function quote(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return describeValue(value);
}

/** A value with its JSON type: `string "3"`, `integer 3`, `object`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  switch (typeof value) {
    case 'string':
      return `string ${quote(value)}`;
    case 'number':
      return `${Number.isInteger(value) ? 'integer' : 'number'} ${value}`;
    case 'boolean':
      return `boolean ${value}`;
    case 'object':
      return 'object';
    default:
      return String(value);
  }
}
