/*
 * config/schema.json, the schema editors check config files with, against the loader that
 * synthesis uses: a draft 2020-12 validator in strict mode takes the schema as it is, every
 * property says what it is for and what it defaults to, and a corpus of broken files is refused by
 * both, except where a rule relates values in a way JSON Schema cannot express (those are named).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import * as yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../lib/config/load';
import { BROKEN, LOADER_ONLY } from '../bad-configurations';
import { VARIANTS, variantText } from '../config-variants';
import { buildFromText, PROJECT_ROOT } from '../helpers';

type Node = { [keyword: string]: unknown };
type Changes = Record<string, unknown>;

const schema = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'config', 'schema.json'), 'utf8')) as Node;
const validate = new Ajv2020({ strict: true, allErrors: true }).compile(schema);
const ENVIRONMENTS = fs
  .readdirSync(path.join(PROJECT_ROOT, 'config'))
  .filter((file) => file.endsWith('.yaml'))
  .map((file) => file.slice(0, -'.yaml'.length));

const isNode = (value: unknown): value is Node => value !== null && typeof value === 'object' && !Array.isArray(value);

/** Every subschema, with the JSON Pointer-like path of keywords that leads to it. */
function* subschemas(node: unknown, at = ''): Generator<[string, Node]> {
  if (Array.isArray(node)) {
    for (const [index, item] of node.entries()) yield* subschemas(item, `${at}/${index}`);
    return;
  }
  if (!isNode(node)) return;
  yield [at, node];
  for (const [keyword, value] of Object.entries(node)) yield* subschemas(value, `${at}/${keyword}`);
}

/** The subschemas that can describe the instance at `field` (a dotted path): through properties, items, allOf/anyOf and then. */
function schemasAt(node: Node, field: readonly string[]): Node[] {
  const alternatives = [node, ...['allOf', 'anyOf', 'oneOf'].flatMap((keyword) => (Array.isArray(node[keyword]) ? node[keyword] : []))]
    .flatMap((alternative) => (isNode(alternative) && isNode(alternative.then) ? [alternative, alternative.then] : [alternative]))
    .filter(isNode);
  if (field.length === 0) return alternatives;
  const [head, ...rest] = field;
  return alternatives.flatMap((alternative) => {
    const next = isNode(alternative.properties) ? alternative.properties[head] : undefined;
    const nested = alternative !== node && isNode(next) ? [next] : [];
    if (alternative !== node) return nested.flatMap((child) => schemasAt(child, rest));
    return isNode(next) ? schemasAt(next, rest) : [];
  });
}

/** The loader's problems with a file, and those the configuration causes in synthesis (the route table, capacity): [] when it builds. */
function loaderProblems(text: string, environment: string): readonly string[] {
  try {
    buildFromText(text, environment);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

function schemaErrors(text: string): string[] {
  return validate(yaml.load(text)) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath} ${error.message}`);
}

describe('the editor schema', () => {
  it('compiles in strict mode for its declared draft, with only standard keywords', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(() => new Ajv2020({ strict: true }).compile(schema)).not.toThrow();
    const formats = [...subschemas(schema)].filter(([, node]) => 'format' in node).map(([at]) => at);
    expect(formats).toEqual([]);
  });

  it('describes every property', () => {
    // The objects a file is written with are closed (zod's strictObject); the fragments the
    // cross-field rules add (json-rules.ts) are open and describe nothing.
    const properties = [...subschemas(schema)].flatMap(([at, node]) =>
      node.additionalProperties === false && isNode(node.properties)
        ? Object.entries(node.properties).map(([name, property]) => [`${at}/properties/${name}`, property] as const)
        : [],
    );
    expect(properties.length).toBeGreaterThan(300);
    const undescribed = properties
      .filter(([, property]) => !isNode(property) || typeof property.description !== 'string' || property.description.length < 10)
      .map(([at]) => at);
    expect(undescribed).toEqual([]);
  });

  it('carries the default of every field the loader fills in', () => {
    const minimal = {
      environment: 'dev',
      domain: 'prefect.example.com',
      tls: { mode: 'selfsigned' },
      prefect: { image: { registry: 'registry.example.com/prefect', tag: '2026.11.1' } },
      cluster: { nodes: 1, cpuPerNode: '8', memoryPerNode: '16Gi' },
    };
    const loaded = parseConfig(yaml.dump(minimal), 'config/dev.yaml', 'dev') as unknown as Record<string, unknown>;
    // Each leaf the file did not set: its schema, or the schema of an object above it, has the default.
    const missing: string[] = [];
    const visit = (value: unknown, given: unknown, field: string[]) => {
      if (isNode(value) && !Array.isArray(value)) {
        for (const [key, child] of Object.entries(value)) visit(child, isNode(given) ? given[key] : undefined, [...field, key]);
        return;
      }
      if (given !== undefined || value === undefined) return;
      // A default of an object above counts only when it holds this leaf (a default of {} does not).
      const covered = field.some((_, length) =>
        schemasAt(schema, field.slice(0, field.length - length)).some(
          (node) =>
            'default' in node &&
            field.slice(field.length - length).reduce<unknown>((at, key) => (isNode(at) ? at[key] : undefined), node.default) !== undefined,
        ),
      );
      if (!covered) missing.push(field.join('.'));
    };
    const { hostnames: _h, flux: _f, ...rest } = loaded;
    visit(rest, minimal, []);
    expect(missing).toEqual([]);
  });

  it.each(ENVIRONMENTS)('takes config/%s.yaml, as the loader does', (environment) => {
    const text = fs.readFileSync(path.join(PROJECT_ROOT, 'config', `${environment}.yaml`), 'utf8');
    expect(loaderProblems(text, environment)).toEqual([]);
    expect(schemaErrors(text)).toEqual([]);
  });

  /** The committed environment each variant is written for. */
  const VARIANT_BASES: Record<keyof typeof VARIANTS, string> = {
    cloudnativePg: 'prod',
    cloudnativePgRecovery: 'prod',
    externalData: 'dev',
    externalSecrets: 'dev',
    everySso: 'prod',
    ociSops: 'prod',
    existingTls: 'prod',
    ownMesh: 'staging',
    companyCluster: 'prod',
  };
  it.each(Object.entries(VARIANTS))('takes the %s variant, as the loader does', (name, changes) => {
    const environment = VARIANT_BASES[name as keyof typeof VARIANTS];
    const text = variantText(environment, changes as Changes);
    expect(loaderProblems(text, environment)).toEqual([]);
    expect(schemaErrors(text)).toEqual([]);
  });

  it.each(BROKEN)(
    'refuses %s (%s), in the loader and in the editor schema where JSON Schema can say it',
    (_what, environment, changes, rule) => {
      const text = variantText(environment, changes);
      const problems = loaderProblems(text, environment);
      expect(problems.length, 'the loader takes it').toBeGreaterThan(0);
      // Each problem names the file and the field, and says what is expected.
      for (const problem of problems)
        expect(problem).toMatch(new RegExp(`^config/${environment}\\.yaml: [^\\s:]+: (.*\\bexpected\\b|unknown key; did you mean)`));
      if (rule === undefined) expect(schemaErrors(text), 'the editor schema takes it').not.toEqual([]);
      // A rule only the loader checks: the schema passes the file (if it stops doing so, the rule moves out of LOADER_ONLY).
      else expect(schemaErrors(text), LOADER_ONLY[rule]).toEqual([]);
    },
  );

  it('names every rule that only the loader checks in some case of the corpus', () => {
    const used = new Set(BROKEN.map(([, , , rule]) => rule));
    expect(Object.keys(LOADER_ONLY).filter((rule) => !used.has(rule as keyof typeof LOADER_ONLY))).toEqual([]);
  });

  it('reports a mistyped discriminator as a value not among the allowed ones, not as the fields of a guessed alternative', () => {
    const text = variantText('prod', [{ tls: null }, { tls: { mode: 'self-signed' } }]);
    validate(yaml.load(text));
    const errors = (validate.errors ?? []).filter((error) => error.keyword !== 'if');
    expect(errors.map((error) => [error.instancePath, error.keyword])).toEqual([['/tls/mode', 'enum']]);
  });
});
