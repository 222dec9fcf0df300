/**
 * Strict schema validation of synthesized Kubernetes objects, in the spirit of `kubeconform -strict`.
 *
 * - Core kinds are validated against the Kubernetes OpenAPI v3 documents of every supported
 *   Kubernetes version (see `../shared/k8s-openapi/SOURCES.md`).
 * - Custom resources are validated against the `openAPIV3Schema` of the served version of their
 *   CRD (see `../shared/crds/SOURCES.md`); their `metadata` is validated against ObjectMeta.
 * - An unknown field anywhere is an error, and so is an unknown apiVersion/kind.
 *
 * This is build tooling, not a construct: it reads the schema files itself. Documents are parsed
 * once per validator, lazily, and each kind is compiled once, on first use.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import * as yaml from 'js-yaml';

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

export interface SchemaLocations {
  /** One entry per Kubernetes version, e.g. `{ label: '1.33', dir: '.../k8s-openapi/1.33' }`. */
  readonly kubernetes: ReadonlyArray<{ readonly label: string; readonly dir: string }>;
  /** Multi-document YAML files holding CustomResourceDefinitions. */
  readonly crdFiles: readonly string[];
}

/** The Kubernetes versions validated against: the oldest supported and the newest with v3 documents. */
export const KUBERNETES_VERSIONS: readonly string[] = ['1.33', '1.35'];

/**
 * The Kubernetes quantity grammar (`k8s.io/apimachinery/pkg/api/resource`), exactly as
 * controller-gen writes it into CRDs (e.g. the cloudnative-pg and cert-manager CRDs here).
 * The core OpenAPI documents carry no pattern for Quantity, so it is added to them.
 */
export const QUANTITY_PATTERN =
  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';

const QUANTITY_COMPONENT = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
const OBJECT_META_COMPONENT = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
const COMPONENTS_PREFIX = '#/components/schemas/';
/** Any object: metadata when no ObjectMeta schema is at hand. */
const OPEN_OBJECT = (): SchemaObject => ({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true });

/**
 * Finds the schema folders.
 *
 * Kubernetes documents: `$K8S_OPENAPI_DIR` when set, else `<projectRoot>/../shared/k8s-openapi`,
 * else `<projectRoot>/.schemas/k8s-openapi`; each must hold `1.33/` and `1.35/`.
 * CRDs: `$CRDS_DIR` when set, else `<projectRoot>/../shared/crds`, else `<projectRoot>/.schemas/crds`.
 * An override that is set but unusable is an error (no silent fallback).
 */
export function findSchemaLocations(projectRoot: string, env: NodeJS.ProcessEnv = process.env): SchemaLocations {
  const root = path.resolve(projectRoot);
  const kubernetesBase = pickFolder(
    'Kubernetes OpenAPI documents',
    'K8S_OPENAPI_DIR',
    env.K8S_OPENAPI_DIR,
    [path.join(root, '..', 'shared', 'k8s-openapi'), path.join(root, '.schemas', 'k8s-openapi')],
    (dir) => KUBERNETES_VERSIONS.every((version) => listFiles(path.join(dir, version), '_openapi.json').length > 0),
    `subfolders ${KUBERNETES_VERSIONS.map((v) => `${v}/`).join(' and ')} with *_openapi.json files`,
  );
  const crdDir = pickFolder(
    'CRD files',
    'CRDS_DIR',
    env.CRDS_DIR,
    [path.join(root, '..', 'shared', 'crds'), path.join(root, '.schemas', 'crds')],
    (dir) => listCrdFiles(dir).length > 0,
    '*.yaml files',
  );
  return {
    kubernetes: KUBERNETES_VERSIONS.map((label) => ({ label, dir: path.join(kubernetesBase, label) })),
    crdFiles: listCrdFiles(crdDir),
  };
}

function pickFolder(
  what: string,
  envName: string,
  override: string | undefined,
  defaults: readonly string[],
  usable: (dir: string) => boolean,
  expected: string,
): string {
  const candidates = override ? [path.resolve(override)] : defaults;
  const found = candidates.find(usable);
  if (found !== undefined) return found;
  const tried = candidates.map((c) => (override ? `${c} (from ${envName})` : c)).join(', ');
  throw new Error(
    `${what} not found: tried ${tried}; each needs ${expected}. ` +
      `Run \`make schemas\` to fetch them${override ? `, or fix ${envName}` : `, or set ${envName}`}.`,
  );
}

function listFiles(dir: string, suffix: string): string[] {
  try {
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith(suffix))
      .sort()
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

function listCrdFiles(dir: string): string[] {
  return [...listFiles(dir, '.yaml'), ...listFiles(dir, '.yml')].sort();
}

/** One line: `<source>: <kind>/<namespace>/<name>: <path>: <message>` (no namespace segment when there is none). */
export function formatProblem(p: ValidationProblem): string {
  const object = p.namespace ? `${p.kind}/${p.namespace}/${p.name}` : `${p.kind}/${p.name}`;
  return `${p.source}: ${object}: ${p.path === '' ? '(root)' : p.path}: ${p.message}`;
}

// ---------------------------------------------------------------------------------------------
// Schema preparation

type SchemaObject = Record<string, unknown>;

function isObject(value: unknown): value is SchemaObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

interface PrepareRules {
  /** CRD rules: an object schema without fields keeps none (the API server prunes them). */
  readonly crd: boolean;
  /** `$ref` to ObjectMeta, for `x-kubernetes-embedded-resource` objects. */
  readonly objectMetaRef?: string;
}

/**
 * Rewrites schemas in place for strict validation, walking the schema STRUCTURE only
 * (properties values, items, additionalProperties, patternProperties, allOf/anyOf/oneOf, not).
 * `$ref` targets are not followed: every component schema is prepared on its own.
 */
class SchemaPreparer {
  /** Every keyword seen, so that ajv can be told about the annotation-only ones. */
  readonly keywords = new Set<string>();
  readonly formats = new Set<string>();
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
    for (const key of Object.keys(schema)) this.keywords.add(key);

    normalizeIntOrString(schema);
    normalizeNullable(schema);
    if (typeof schema.format === 'string') this.formats.add(schema.format);
    if (schema['x-kubernetes-embedded-resource'] === true) this.addEmbeddedResourceFields(schema);

    const properties = isObject(schema.properties) ? schema.properties : undefined;
    const open =
      valueValidation || schema['x-kubernetes-preserve-unknown-fields'] === true || 'additionalProperties' in schema;
    if (!open) {
      if (properties) schema.additionalProperties = false;
      else if (this.rules.crd && schema.type === 'object') schema.additionalProperties = false;
    }

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
    const properties = isObject(schema.properties) ? schema.properties : (schema.properties = {});
    properties.apiVersion ??= { type: 'string' };
    properties.kind ??= { type: 'string' };
    properties.metadata ??= this.rules.objectMetaRef ? { $ref: this.rules.objectMetaRef } : OPEN_OBJECT();
  }
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

function prepareQuantity(schema: unknown): void {
  if (!isObject(schema)) return;
  delete schema.oneOf;
  delete schema.anyOf;
  delete schema.format;
  schema.type = ['string', 'number'];
  schema.pattern = QUANTITY_PATTERN;
}

// ---------------------------------------------------------------------------------------------
// ajv

/**
 * Go RE2 patterns → ECMAScript (ajv's `code.regExp` engine). RE2 flag groups such as `(?i)` (used
 * by the prometheus-operator CRDs) are not ECMAScript in Node 20; they become RegExp flags. A flag
 * group that is not at the start, or a scoped one (`(?i:...)`), is applied to the whole pattern:
 * more permissive, never a false error. `(?P<name>` becomes `(?<name>`.
 */
function re2RegExp(pattern: string, unicodeFlag: string): RegExp {
  let flags = unicodeFlag;
  const translated = pattern
    .replace(/(?<!\\)\(\?([imsU]+)(\)|:)/g, (_group, groupFlags: string, end: string) => {
      for (const flag of groupFlags) {
        if (flag === 'U') throw new Error(`RE2 flag U (ungreedy) has no ECMAScript equivalent: ${pattern}`);
        if (!flags.includes(flag)) flags += flag;
      }
      return end === ':' ? '(?:' : '';
    })
    .replace(/(?<!\\)\(\?P</g, '(?<');
  return new RegExp(translated, flags);
}
re2RegExp.code = 're2RegExp';

/**
 * Formats whose ajv-formats meaning matches Kubernetes' (kube-openapi strfmt). Any other format is
 * accepted unchecked, as Kubernetes does with formats it does not know; ajv-formats' `duration`
 * (ISO 8601), `uri` and `email` differ from strfmt's, so they are not checked either.
 */
const CHECKED_FORMATS = [
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

/** Non-validating keywords besides ajv's own (title, description, default, ...) and `x-*` extensions. */
const ANNOTATION_KEYWORDS: ReadonlySet<string> = new Set(['example', 'externalDocs']);

function createAjv(): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    // Unknown keywords still fail (they are registered explicitly below); the type/required/tuple
    // checks are about schema style, which the upstream CRDs do not follow.
    strictSchema: true,
    strictNumbers: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    // Upstream documents; meta-validating megabytes of schema on every run costs time and finds nothing.
    validateSchema: false,
    addUsedSchema: false,
    // ajv's code optimizer costs more (about half the compile time) than it saves validating a few hundred objects.
    code: { regExp: re2RegExp, lines: false, source: false, optimize: false },
  });
  addFormats(ajv, [...CHECKED_FORMATS]);
  ajv.addFormat('int-or-string', true);
  return ajv;
}

/** Registers the annotations seen while preparing; any other unknown keyword fails the compile (strictSchema). */
function registerVocabulary(ajv: Ajv, preparer: SchemaPreparer): void {
  for (const keyword of preparer.keywords) {
    if (ajv.RULES.keywords[keyword]) continue;
    if (keyword.startsWith('x-') || ANNOTATION_KEYWORDS.has(keyword)) ajv.addKeyword({ keyword });
  }
  for (const format of preparer.formats) {
    if (!ajv.formats[format]) ajv.addFormat(format, true);
  }
}

// ---------------------------------------------------------------------------------------------
// Schema sources

interface GroupVersionKind {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
}

function apiVersionOf(group: string, version: string): string {
  return group === '' ? version : `${group}/${version}`;
}

function gvkKey(apiVersion: string, kind: string): string {
  return `${apiVersion}/${kind}`;
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** The merged OpenAPI v3 components of one Kubernetes version, registered in its own ajv instance. */
class KubernetesSchemas {
  readonly source: string;
  readonly ajv: Ajv;
  readonly documentId: string;
  /** `apps/v1/Deployment` → component name. */
  readonly kinds = new Map<string, string>();
  readonly groups = new Set<string>();
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(
    readonly label: string,
    readonly dir: string,
  ) {
    this.source = `kubernetes-${label}`;
    this.documentId = `kubernetes-${label}.json`;
    const files = listFiles(dir, '_openapi.json');
    if (files.length === 0) throw new Error(`no OpenAPI v3 documents (*_openapi.json) in ${dir}; run \`make schemas\``);

    // Same-named schemas in different files of one version are identical: merge them.
    const schemas: Record<string, unknown> = {};
    for (const file of files) {
      const document: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
      const components = isObject(document) && isObject(document.components) ? document.components.schemas : undefined;
      if (!isObject(components)) throw new Error(`${file} is not an OpenAPI v3 document (no components.schemas)`);
      for (const [name, schema] of Object.entries(components)) if (!(name in schemas)) schemas[name] = schema;
    }

    prepareQuantity(schemas[QUANTITY_COMPONENT]);
    const preparer = new SchemaPreparer({ crd: false });
    for (const [name, schema] of Object.entries(schemas)) {
      preparer.prepare(schema);
      const gvks = isObject(schema) ? schema['x-kubernetes-group-version-kind'] : undefined;
      // Shared types (DeleteOptions, WatchEvent, ...) list many kinds; only one entry names a kind.
      if (Array.isArray(gvks) && gvks.length === 1 && isObject(gvks[0])) {
        const { group, version, kind } = gvks[0] as unknown as GroupVersionKind;
        this.kinds.set(gvkKey(apiVersionOf(group, version), kind), name);
        this.groups.add(group);
      }
    }

    this.ajv = createAjv();
    registerVocabulary(this.ajv, preparer);
    // ajv compiles the document root once to resolve `#/components/schemas/...` in it.
    this.ajv.addKeyword({ keyword: 'components' });
    this.ajv.addSchema({ $id: this.documentId, components: { schemas } });
  }

  ref(component: string): string {
    return `${this.documentId}${COMPONENTS_PREFIX}${component}`;
  }

  validator(key: string): ValidateFunction | undefined {
    let validate = this.compiled.get(key);
    if (validate === undefined) {
      const component = this.kinds.get(key);
      if (component === undefined) return undefined;
      validate = compileOrExplain(this.ajv, { $ref: this.ref(component) }, `${key} (${this.source})`);
      this.compiled.set(key, validate);
    }
    return validate;
  }
}

/** A schema that does not compile is a bug in this module or a new upstream construct: say which. */
function compileOrExplain(ajv: Ajv, schema: SchemaObject, what: string): ValidateFunction {
  try {
    return ajv.compile(schema);
  } catch (error) {
    throw new Error(`strict-validator: cannot compile the schema of ${what}: ${(error as Error).message}`, { cause: error });
  }
}

interface CrdVersion {
  readonly source: string;
  readonly served: boolean;
  readonly schema: SchemaObject;
}

interface CrdKind {
  readonly source: string;
  readonly versions: Map<string, CrdVersion>;
}

interface CrdDocumentText {
  readonly file: string;
  readonly source: string;
  /** The YAML text of one document; undefined once parsed. */
  text: string | undefined;
  /** Every value written after `group:` or `kind:` in the text: a superset of the CRD's group and kind. */
  readonly names: ReadonlySet<string>;
}

/**
 * CRD schemas, compiled in the ajv instance of the first Kubernetes version (for ObjectMeta).
 * The files hold megabytes of YAML, most of it for kinds a given app never emits, so each YAML
 * document is parsed only when a looked-up group and kind both occur in it as the value of a
 * `group:`/`kind:` key, and each version's schema is prepared only when it is compiled.
 */
class CrdSchemas {
  private readonly documents: CrdDocumentText[] = [];
  /** `networking.istio.io/VirtualService` → versions. */
  private readonly kinds = new Map<string, CrdKind>();
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly ajv: Ajv;
  private readonly preparer: SchemaPreparer;
  private readonly objectMetaRef: string | undefined;

  constructor(files: readonly string[], kubernetes: KubernetesSchemas | undefined) {
    this.objectMetaRef = kubernetes?.ref(OBJECT_META_COMPONENT);
    this.preparer = new SchemaPreparer({ crd: true, objectMetaRef: this.objectMetaRef });
    this.ajv = kubernetes?.ajv ?? createAjv();
    for (const file of files) {
      const source = `crd:${path.basename(file)}`;
      for (const text of splitYamlDocuments(fs.readFileSync(file, 'utf8'))) {
        const names = new Set(Array.from(text.matchAll(/\b(?:group|kind):[ \t]*["']?([\w.-]+)/g), (m) => m[1] ?? ''));
        this.documents.push({ file, source, text, names });
      }
    }
  }

  find(group: string, kind: string): CrdKind | undefined {
    const key = `${group}/${kind}`;
    if (!this.kinds.has(key)) {
      for (const document of this.documents) {
        if (document.text !== undefined && document.names.has(group) && document.names.has(kind)) {
          this.parse(document);
        }
      }
    }
    return this.kinds.get(key);
  }

  /** The CRD file that mentions a group, for reporting an unknown kind of that group. */
  sourceMentioning(group: string): string | undefined {
    return this.documents.find((d) => d.names.has(group))?.source;
  }

  validator(groupKind: string, version: string, crdVersion: CrdVersion): ValidateFunction {
    const key = `${groupKind}/${version}`;
    let validate = this.compiled.get(key);
    if (validate === undefined) {
      prepareCustomResourceRoot(crdVersion.schema, this.objectMetaRef, this.preparer);
      registerVocabulary(this.ajv, this.preparer);
      validate = compileOrExplain(this.ajv, crdVersion.schema, `${groupKind} ${version} (${crdVersion.source})`);
      this.compiled.set(key, validate);
    }
    return validate;
  }

  private parse(document: CrdDocumentText): void {
    const { file, source, text } = document;
    document.text = undefined;
    if (text === undefined) return;
    for (const crd of yaml.loadAll(text, { filename: file })) {
      if (!isObject(crd) || crd.kind !== 'CustomResourceDefinition' || !isObject(crd.spec)) continue;
      const spec = crd.spec;
      const names = isObject(spec.names) ? spec.names : {};
      if (typeof spec.group !== 'string' || typeof names.kind !== 'string' || !Array.isArray(spec.versions)) {
        throw new Error(`${file}: CustomResourceDefinition without spec.group, spec.names.kind or spec.versions`);
      }
      const groupKind = `${spec.group}/${names.kind}`;
      const entry: CrdKind = this.kinds.get(groupKind) ?? { source, versions: new Map() };
      this.kinds.set(groupKind, entry);
      for (const version of spec.versions as unknown[]) {
        if (!isObject(version) || typeof version.name !== 'string' || entry.versions.has(version.name)) continue;
        const validation = isObject(version.schema) ? version.schema.openAPIV3Schema : undefined;
        // No schema: Kubernetes keeps every field.
        const schema = isObject(validation) ? validation : OPEN_OBJECT();
        entry.versions.set(version.name, { source, served: version.served === true, schema });
      }
    }
  }
}

/**
 * Splits a YAML stream at its `---` document markers (a line starting with `---` is a marker
 * wherever it occurs, even inside a block scalar), so that documents can be parsed one by one.
 */
function splitYamlDocuments(text: string): string[] {
  return text.split(/^(?=---(?:[ \t\r]|$))/m).filter((chunk) => /^[ \t]*[^\s#]/m.test(chunk.replace(/^---/, '')));
}

/**
 * The root of a custom resource also has apiVersion, kind and metadata (Istio's CRDs do not list
 * them), and its metadata is ObjectMeta whatever the CRD says (controller-gen writes `type: object`).
 */
function prepareCustomResourceRoot(schema: SchemaObject, objectMetaRef: string | undefined, preparer: SchemaPreparer): void {
  const properties = isObject(schema.properties) ? schema.properties : (schema.properties = {});
  properties.apiVersion ??= { type: 'string' };
  properties.kind ??= { type: 'string' };
  const crdMetadata = isObject(properties.metadata) ? properties.metadata : undefined;
  // The CRD's own metadata schema only adds value validations (e.g. a name pattern): never closed.
  if (crdMetadata) preparer.prepare(crdMetadata, true);
  const objectMeta = objectMetaRef ? { $ref: objectMetaRef } : OPEN_OBJECT();
  properties.metadata = crdMetadata ? { allOf: [objectMeta, crdMetadata] } : objectMeta;
  preparer.prepare(schema);
}

// ---------------------------------------------------------------------------------------------
// The validator

interface ObjectIdentity {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

export class StrictValidator {
  private readonly locations: SchemaLocations;
  private kubernetesSchemas?: KubernetesSchemas[];
  private crdSchemas?: CrdSchemas;

  constructor(locations: SchemaLocations) {
    if (locations.kubernetes.length === 0 && locations.crdFiles.length === 0) {
      throw new Error('StrictValidator needs at least one Kubernetes schema folder or CRD file');
    }
    this.locations = locations;
  }

  /**
   * Validates one object against every Kubernetes version (core kinds) or its CRD (custom
   * resources). Returns [] when valid.
   */
  validate(object: unknown): ValidationProblem[] {
    const identity = identify(object);
    const problem = (source: string, message: string): ValidationProblem => withIdentity(identity, source, '', message);
    if (!isObject(object)) return [problem('schemas', `expected an object, got ${describeValue(object)}`)];
    if (identity.apiVersion === '' || identity.kind === '') {
      return [problem('schemas', 'apiVersion and kind must be non-empty strings')];
    }
    const key = gvkKey(identity.apiVersion, identity.kind);

    const kubernetes = this.kubernetes();
    if (kubernetes.some((k) => k.kinds.has(key))) {
      return kubernetes.flatMap((k) => {
        const validate = k.validator(key);
        if (validate === undefined) return [problem(k.source, `unknown apiVersion/kind ${key} in Kubernetes ${k.label}`)];
        return runValidator(validate, object, identity, k.source);
      });
    }

    const group = groupOf(identity.apiVersion);
    const version = identity.apiVersion.slice(group.length === 0 ? 0 : group.length + 1);
    const crds = this.crds();
    const crd = group === '' ? undefined : crds.find(group, identity.kind);
    if (crd !== undefined) {
      const crdVersion = crd.versions.get(version);
      if (crdVersion === undefined || !crdVersion.served) {
        const served = [...crd.versions].filter(([, v]) => v.served).map(([name]) => name).join(', ') || 'none';
        const state = crdVersion === undefined ? 'is not a version of' : 'is not served by';
        return [problem(crd.source, `${identity.apiVersion} ${state} the ${identity.kind} CRD (served: ${served})`)];
      }
      const validate = crds.validator(`${group}/${identity.kind}`, version, crdVersion);
      return runValidator(validate, object, identity, crdVersion.source, crdVersion.schema);
    }

    const source =
      kubernetes.find((k) => k.groups.has(group))?.source ?? (group === '' ? undefined : crds.sourceMentioning(group));
    return [
      problem(
        source ?? 'schemas',
        `unknown apiVersion/kind ${key}${source === undefined ? ' (no Kubernetes OpenAPI document or CRD defines it)' : ''}`,
      ),
    ];
  }

  validateAll(objects: readonly unknown[]): ValidationProblem[] {
    return objects.flatMap((object) => this.validate(object));
  }

  private kubernetes(): KubernetesSchemas[] {
    this.kubernetesSchemas ??= this.locations.kubernetes.map(({ label, dir }) => new KubernetesSchemas(label, dir));
    return this.kubernetesSchemas;
  }

  private crds(): CrdSchemas {
    // ObjectMeta of the oldest version, the strictest.
    this.crdSchemas ??= new CrdSchemas(this.locations.crdFiles, this.kubernetes()[0]);
    return this.crdSchemas;
  }
}

function identify(object: unknown): ObjectIdentity {
  const o = isObject(object) ? object : {};
  const metadata = isObject(o.metadata) ? o.metadata : {};
  return {
    apiVersion: typeof o.apiVersion === 'string' ? o.apiVersion : '',
    kind: typeof o.kind === 'string' ? o.kind : '',
    name: typeof metadata.name === 'string' && metadata.name !== '' ? metadata.name : '<unnamed>',
    ...(typeof metadata.namespace === 'string' && metadata.namespace !== '' ? { namespace: metadata.namespace } : {}),
  };
}

function withIdentity(identity: ObjectIdentity, source: string, problemPath: string, message: string): ValidationProblem {
  return { source, ...identity, path: problemPath, message };
}

function runValidator(
  validate: ValidateFunction,
  object: unknown,
  identity: ObjectIdentity,
  source: string,
  rootSchema?: unknown,
): ValidationProblem[] {
  if (validate(object)) return [];
  return describeErrors(validate.errors ?? [], object, rootSchema).map(({ path: problemPath, message }) =>
    withIdentity(identity, source, problemPath, message),
  );
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
      errors.some(
        (e) => e !== error && !JUNCTORS.has(e.keyword) && isSameOrBelow(e.instancePath, error.instancePath),
      );
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
      const expected = [
        ...new Set(typeErrors.flatMap((e) => String((e.params as { type: string | string[] }).type).split(','))),
      ];
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
function describeValue(value: unknown): string {
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
