/**
 * Rewrites upstream schemas for strict validation, once, when the schema bundle is generated
 * (`make schemas`): unknown fields become errors, the Kubernetes-specific shapes become plain
 * JSON Schema, and what validation never reads (descriptions, examples, unchecked formats,
 * extensions) is removed.
 */

export type SchemaObject = Record<string, unknown>;

export function isObject(value: unknown): value is SchemaObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The Kubernetes quantity grammar (`k8s.io/apimachinery/pkg/api/resource`), exactly as
 * controller-gen writes it into CRDs (e.g. the cloudnative-pg and cert-manager CRDs). The core
 * OpenAPI documents carry no pattern for Quantity, so it is added to them.
 */
export const QUANTITY_PATTERN =
  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';

export const QUANTITY_COMPONENT = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
export const OBJECT_META_COMPONENT = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
export const COMPONENTS_PREFIX = '#/components/schemas/';

/** The `$id` under which one Kubernetes version's components are registered in ajv. */
export function kubernetesDocumentId(label: string): string {
  return `kubernetes-${label}.json`;
}

/**
 * Formats whose ajv-formats meaning matches Kubernetes' (kube-openapi strfmt). Any other format is
 * accepted unchecked, as Kubernetes does with formats it does not know, so it is removed;
 * ajv-formats' `duration` (ISO 8601), `uri` and `email` differ from strfmt's.
 */
export const CHECKED_FORMATS = [
  'date-time',
  'date',
  'byte',
  'int32',
  'int64',
  'float',
  'double',
  'hostname',
  'ipv4',
  'ipv6',
  'uuid',
] as const;

/** Extensions kept in the bundle: the CRDs' CEL rules, which the tests evaluate (ajv ignores them). */
export const KEPT_EXTENSIONS: readonly string[] = ['x-kubernetes-validations'];

/** Keywords that only annotate: validation never reads them. */
const ANNOTATIONS: ReadonlySet<string> = new Set(['description', 'title', 'example', 'examples', 'externalDocs', 'default']);

/** Any object: metadata when no ObjectMeta schema is at hand. */
const OPEN_OBJECT = (): SchemaObject => ({ type: 'object' });

interface PrepareRules {
  /** CRD rules: an object schema without fields keeps none (the API server prunes them). */
  readonly crd: boolean;
  /** `$ref` to ObjectMeta, for `x-kubernetes-embedded-resource` objects. */
  readonly objectMetaRef?: string;
}

/**
 * Rewrites schemas in place, walking the schema STRUCTURE only (properties values, items,
 * additionalProperties, patternProperties, allOf/anyOf/oneOf, not) — never by key name, because
 * JSONSchemaProps has properties literally named `$ref`, `allOf`, `description` …. `$ref` targets
 * are not followed: every component schema is prepared on its own.
 */
export class SchemaPreparer {
  private readonly seen = new Set<object>();

  constructor(private readonly rules: PrepareRules) {}

  /**
   * @param valueValidation true inside allOf/anyOf/oneOf/not of a schema that has its own
   *   `properties`: such branches restate the parent's fields (value validations of a structural
   *   schema), so closing them would reject the parent's other fields.
   */
  prepare(schema: unknown, valueValidation = false): void {
    if (!isObject(schema) || this.seen.has(schema)) return;
    this.seen.add(schema);

    normalizeIntOrString(schema);
    normalizeNullable(schema);
    if (schema['x-kubernetes-embedded-resource'] === true) this.addEmbeddedResourceFields(schema);

    const properties = isObject(schema.properties) ? schema.properties : undefined;
    const open = valueValidation || schema['x-kubernetes-preserve-unknown-fields'] === true || 'additionalProperties' in schema;
    if (!open) {
      if (properties) schema.additionalProperties = false;
      else if (this.rules.crd && schema.type === 'object') schema.additionalProperties = false;
    }
    removeAnnotations(schema);

    if (properties) for (const child of Object.values(properties)) this.prepare(child, valueValidation);
    if (isObject(schema.patternProperties)) {
      for (const child of Object.values(schema.patternProperties)) this.prepare(child, valueValidation);
    }
    if (Array.isArray(schema.items)) for (const child of schema.items) this.prepare(child, valueValidation);
    else this.prepare(schema.items, valueValidation);
    this.prepare(schema.additionalProperties, valueValidation);
    const branchValueValidation = valueValidation || properties !== undefined;
    for (const junctor of ['allOf', 'anyOf', 'oneOf'] as const) {
      const branches = schema[junctor];
      if (Array.isArray(branches)) for (const branch of branches) this.prepare(branch, branchValueValidation);
    }
    this.prepare(schema.not, branchValueValidation);
  }

  /** An embedded resource implicitly has apiVersion, kind and metadata (apiextensions semantics). */
  private addEmbeddedResourceFields(schema: SchemaObject): void {
    if (!isObject(schema.properties)) schema.properties = {};
    const properties = schema.properties as SchemaObject;
    properties.apiVersion ??= { type: 'string' };
    properties.kind ??= { type: 'string' };
    properties.metadata ??= this.rules.objectMetaRef ? { $ref: this.rules.objectMetaRef } : OPEN_OBJECT();
  }
}

/** Drops the keywords of one schema object that validation does not read. */
function removeAnnotations(schema: SchemaObject): void {
  for (const keyword of Object.keys(schema)) {
    const extension = keyword.startsWith('x-') && !KEPT_EXTENSIONS.includes(keyword);
    if (extension || ANNOTATIONS.has(keyword)) delete schema[keyword];
  }
  if (typeof schema.format === 'string' && !(CHECKED_FORMATS as readonly string[]).includes(schema.format)) {
    delete schema.format;
  }
  if (typeof schema.pattern === 'string') schema.pattern = ecmaScriptPattern(schema.pattern);
}

/**
 * Go RE2 patterns → ECMAScript, as ajv reads `pattern` (flags `u`): `(?P<name>` becomes
 * `(?<name>`, and the RE2 flag group `(?i)` (the prometheus-operator CRDs use it) becomes letters
 * of both cases, `[aA]`, since a JSON Schema pattern carries no flags. A flag group after the
 * start applies to the whole pattern: more permissive, never a false error. Other flags have no
 * such rewrite and are refused.
 */
export function ecmaScriptPattern(pattern: string): string {
  let caseInsensitive = false;
  let translated = pattern
    .replace(/(?<!\\)\(\?([a-zA-Z]+)(\)|:)/g, (_group, flags: string, end: string) => {
      if (flags !== 'i') throw new Error(`RE2 flags (?${flags}) have no ECMAScript pattern equivalent: ${pattern}`);
      caseInsensitive = true;
      return end === ':' ? '(?:' : '';
    })
    .replace(/(?<!\\)\(\?P</g, '(?<');
  if (caseInsensitive) translated = bothCases(translated);
  return translated;
}

/** Every ASCII letter outside escapes as both cases: `a` → `[aA]` outside a class, `aA` inside one (a range widens: more permissive). */
function bothCases(pattern: string): string {
  let result = '';
  let inClass = false;
  for (let index = 0; index < pattern.length; index++) {
    const character = pattern[index] as string;
    if (character === '\\') {
      result += character + (pattern[++index] ?? '');
      continue;
    }
    if (character === '[' && !inClass) inClass = true;
    else if (character === ']' && inClass) inClass = false;
    const lower = character.toLowerCase();
    const upper = character.toUpperCase();
    if (lower === upper || !/[a-z]/i.test(character)) result += character;
    else result += inClass ? `${lower}${upper}` : `[${lower}${upper}]`;
  }
  return result;
}

/**
 * int-or-string has three shapes: OpenAPI v3 `format: int-or-string` + `oneOf`, CRD
 * `x-kubernetes-int-or-string: true` + `anyOf` (or nothing), swagger 2.0 `type: string`. All become
 * `type: [integer, string]`, which also yields a single error for a bad value.
 */
function normalizeIntOrString(schema: SchemaObject): void {
  if (schema.format !== 'int-or-string' && schema['x-kubernetes-int-or-string'] !== true) return;
  for (const junctor of ['oneOf', 'anyOf'] as const) {
    const branches = schema[junctor];
    if (Array.isArray(branches) && branches.every(isPlainIntegerOrStringBranch)) delete schema[junctor];
  }
  if (schema.oneOf === undefined && schema.anyOf === undefined) schema.type = ['integer', 'string'];
}

function isPlainIntegerOrStringBranch(branch: unknown): boolean {
  if (!isObject(branch) || (branch.type !== 'integer' && branch.type !== 'string')) return false;
  return Object.keys(branch).every((key) => key === 'type' || key === 'format' || key === 'description');
}

/** OpenAPI 3.0 `nullable`: ajv supports it only beside `type`; an enum must list null too. */
function normalizeNullable(schema: SchemaObject): void {
  if (schema.nullable !== true) return;
  if (schema.type === undefined) {
    // Without a type every value, null included, already passes the type check.
    delete schema.nullable;
    return;
  }
  if (Array.isArray(schema.enum) && !schema.enum.includes(null)) schema.enum = [...schema.enum, null];
}

/** Quantity: a string in the quantity grammar, or a number. */
export function prepareQuantity(schema: unknown): void {
  if (!isObject(schema)) return;
  delete schema.oneOf;
  delete schema.anyOf;
  delete schema.format;
  schema.type = ['string', 'number'];
  schema.pattern = QUANTITY_PATTERN;
}

/**
 * The root of a custom resource also has apiVersion, kind and metadata (Istio's CRDs do not list
 * them), and its metadata is ObjectMeta whatever the CRD says (controller-gen writes `type: object`).
 */
export function prepareCustomResourceRoot(schema: SchemaObject, objectMetaRef: string, preparer: SchemaPreparer): void {
  if (!isObject(schema.properties)) schema.properties = {};
  const properties = schema.properties as SchemaObject;
  properties.apiVersion ??= { type: 'string' };
  properties.kind ??= { type: 'string' };
  const crdMetadata = isObject(properties.metadata) ? properties.metadata : undefined;
  // The CRD's own metadata schema only adds value validations (e.g. a name pattern): never closed.
  if (crdMetadata) preparer.prepare(crdMetadata, true);
  const objectMeta = { $ref: objectMetaRef };
  properties.metadata =
    crdMetadata && Object.keys(crdMetadata).some((key) => key !== 'type') ? { allOf: [objectMeta, crdMetadata] } : objectMeta;
  preparer.prepare(schema);
}

/** Calls `visit` on every schema below `schema` (structure only, as the preparer walks). */
export function forEachSubschema(schema: unknown, visit: (subschema: SchemaObject) => void): void {
  if (!isObject(schema)) return;
  visit(schema);
  if (isObject(schema.properties)) for (const child of Object.values(schema.properties)) forEachSubschema(child, visit);
  if (isObject(schema.patternProperties)) {
    for (const child of Object.values(schema.patternProperties)) forEachSubschema(child, visit);
  }
  if (Array.isArray(schema.items)) for (const child of schema.items) forEachSubschema(child, visit);
  else forEachSubschema(schema.items, visit);
  forEachSubschema(schema.additionalProperties, visit);
  for (const junctor of ['allOf', 'anyOf', 'oneOf'] as const) {
    const branches = schema[junctor];
    if (Array.isArray(branches)) for (const branch of branches) forEachSubschema(branch, visit);
  }
  forEachSubschema(schema.not, visit);
}

/**
 * The names of the components that `roots` reach through `#/components/schemas/…` references,
 * the named roots included. Throws `<context>: no component <name>` for a reference to none.
 */
export function reachableComponents(
  roots: readonly string[],
  components: Readonly<Record<string, SchemaObject>>,
  context: string,
): Set<string> {
  const reached = new Set<string>();
  const pending = [...roots];
  while (pending.length > 0) {
    const name = pending.pop() as string;
    if (reached.has(name)) continue;
    const schema = components[name];
    if (schema === undefined) throw new Error(`${context}: no component ${name}`);
    reached.add(name);
    forEachSubschema(schema, (subschema) => {
      const ref = subschema.$ref;
      if (typeof ref === 'string' && ref.startsWith(COMPONENTS_PREFIX)) pending.push(ref.slice(COMPONENTS_PREFIX.length));
    });
  }
  return reached;
}
