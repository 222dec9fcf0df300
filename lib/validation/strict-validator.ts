/**
 * Strict schema validation of synthesized Kubernetes objects, in the spirit of `kubeconform -strict`,
 * against the committed schema bundle (schema-bundle.ts):
 *
 * - core kinds against the Kubernetes OpenAPI v3 schemas of every supported Kubernetes version;
 * - custom resources against the `openAPIV3Schema` of the served version of their CRD, their
 *   `metadata` against ObjectMeta;
 * - an unknown field anywhere is an error, and so is an unknown apiVersion/kind.
 *
 * Each kind is compiled once per validator, on first use.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import standaloneCode from 'ajv/dist/standalone';
import addFormats from 'ajv-formats';
import { describeErrors, describeValue, type ValidationProblem } from './problems';
import type { CrdBundleKind, KubernetesBundle, SchemaBundle } from './schema-bundle';
import type { CompiledValidatorStore } from './validation-caches';
import { CHECKED_FORMATS, COMPONENTS_PREFIX, isObject, KEPT_EXTENSIONS, kubernetesDocumentId } from './schema-preparation';

export type { ValidationProblem } from './problems';
export { describeErrors, formatProblem } from './problems';

function createAjv(standalone: boolean): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    // Unknown keywords still fail (the bundle keeps only standard ones and KEPT_EXTENSIONS); the
    // type/required/tuple checks are about schema style, which the upstream CRDs do not follow.
    strictSchema: true,
    strictNumbers: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    // Generated from upstream documents: meta-validating them on every run finds nothing.
    validateSchema: false,
    addUsedSchema: false,
    // ajv's code optimizer costs about half the compile time: worth it only for code that is kept (smaller to load).
    code: { lines: false, source: standalone, optimize: standalone },
  });
  addFormats(ajv, [...CHECKED_FORMATS]);
  for (const keyword of KEPT_EXTENSIONS) ajv.addKeyword({ keyword });
  // ajv compiles a document root once to resolve `#/components/schemas/...` in it.
  ajv.addKeyword({ keyword: 'components' });
  return ajv;
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

function groupOfKey(key: string): string {
  const parts = key.split('/');
  return parts.length === 3 ? (parts[0] as string) : '';
}

/** One Kubernetes version's components, registered in an ajv instance. */
class KubernetesSchemas {
  readonly source: string;
  readonly groups: ReadonlySet<string>;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(
    readonly bundle: KubernetesBundle,
    readonly ajv: Ajv,
    private readonly compile: Compile,
  ) {
    this.source = `kubernetes-${bundle.label}`;
    this.groups = new Set(Object.keys(bundle.kinds).map(groupOfKey));
    ajv.addSchema({ $id: kubernetesDocumentId(bundle.label), components: { schemas: bundle.schemas } });
  }

  has(key: string): boolean {
    return key in this.bundle.kinds;
  }

  /** undefined: the kind is not in this version; null: it is, but the bundle holds no schema for it. */
  validator(key: string): ValidateFunction | undefined | null {
    const component = this.bundle.kinds[key];
    if (component === undefined) return undefined;
    if (!(component in this.bundle.schemas)) return null;
    let validate = this.compiled.get(key);
    if (validate === undefined) {
      const ref = `${kubernetesDocumentId(this.bundle.label)}${COMPONENTS_PREFIX}${component}`;
      validate = this.compile(this.ajv, `${this.source}/${key}`, { $ref: ref }, `${key} (${this.source})`);
      this.compiled.set(key, validate);
    }
    return validate;
  }
}

type Compile = (ajv: Ajv, id: string, schema: Record<string, unknown>, what: string) => ValidateFunction;

/**
 * Compiles a validator, or loads its standalone code from the store (compiled once per bundle).
 * A schema that does not compile means a damaged bundle or a new upstream construct: say which.
 */
function compiler(store: CompiledValidatorStore | undefined): Compile {
  return (ajv, id, schema, what) => {
    const stored = store?.load(id);
    if (stored !== undefined) return stored;
    let validate: ValidateFunction;
    try {
      validate = ajv.compile(schema);
    } catch (error) {
      throw new Error(`strict-validator: cannot compile the schema of ${what}: ${(error as Error).message}`, { cause: error });
    }
    store?.save(id, standaloneCode(ajv, validate));
    return validate;
  };
}

export interface StrictValidatorOptions {
  /** Where compiled validators are kept between runs. @default none: every kind is compiled at first use */
  readonly store?: CompiledValidatorStore;
}

interface ObjectIdentity {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

export class StrictValidator {
  private readonly kubernetes: KubernetesSchemas[];
  private readonly crds: Readonly<Record<string, CrdBundleKind>>;
  /** CRD schemas compile in the ajv of the oldest Kubernetes version, whose ObjectMeta they refer to. */
  private readonly crdAjv: Ajv;
  private readonly compiledCrds = new Map<string, ValidateFunction>();

  private readonly compile: Compile;

  constructor(bundle: SchemaBundle, options: StrictValidatorOptions = {}) {
    if (bundle.kubernetes.length === 0) throw new Error('StrictValidator needs the schemas of at least one Kubernetes version');
    this.compile = compiler(options.store);
    const standalone = options.store !== undefined;
    this.kubernetes = bundle.kubernetes.map((kubernetes) => new KubernetesSchemas(kubernetes, createAjv(standalone), this.compile));
    this.crdAjv = (this.kubernetes[0] as KubernetesSchemas).ajv;
    this.crds = bundle.crds;
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
    const key = `${identity.apiVersion}/${identity.kind}`;

    if (this.kubernetes.some((k) => k.has(key))) {
      return this.kubernetes.flatMap((k) => {
        const validate = k.validator(key);
        if (validate === undefined) return [problem(k.source, `unknown apiVersion/kind ${key} in Kubernetes ${k.bundle.label}`)];
        if (validate === null) {
          return [
            problem(k.source, `${key} is not in the schema bundle: add it to lib/validation/emitted-kinds.ts and run \`make schemas\``),
          ];
        }
        return runValidator(validate, object, identity, k.source);
      });
    }

    const group = groupOf(identity.apiVersion);
    const version = identity.apiVersion.slice(group.length === 0 ? 0 : group.length + 1);
    const groupKind = `${group}/${identity.kind}`;
    const crd = group === '' ? undefined : this.crds[groupKind];
    if (crd !== undefined) {
      const crdVersion = crd.versions[version];
      if (crdVersion === undefined || !crdVersion.served) {
        const served =
          Object.entries(crd.versions)
            .filter(([, v]) => v.served)
            .map(([name]) => name)
            .join(', ') || 'none';
        const state = crdVersion === undefined ? 'is not a version of' : 'is not served by';
        return [problem(crd.source, `${identity.apiVersion} ${state} the ${identity.kind} CRD (served: ${served})`)];
      }
      let validate = this.compiledCrds.get(`${groupKind}/${version}`);
      if (validate === undefined) {
        validate = this.compile(this.crdAjv, `crd/${groupKind}/${version}`, crdVersion.schema, `${groupKind} ${version} (${crd.source})`);
        this.compiledCrds.set(`${groupKind}/${version}`, validate);
      }
      return runValidator(validate, object, identity, crd.source, crdVersion.schema);
    }

    const source =
      this.kubernetes.find((k) => k.groups.has(group))?.source ??
      (group === '' ? undefined : Object.entries(this.crds).find(([name]) => groupOf(name) === group)?.[1].source);
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
