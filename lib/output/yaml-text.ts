import * as yaml from 'js-yaml';

/** Serializes one object as a YAML document, the same way every time. */
export function toYaml(object: unknown): string {
  return yaml.dump(object, { lineWidth: -1, noRefs: true });
}

export interface YamlReadingProblem {
  readonly path: string;
  readonly message: string;
}

/**
 * How js-yaml 5 resolves a plain scalar under a schema (its own implicit tags, in the schema's
 * order). The method is marked internal in js-yaml's types; the version is pinned, and the tests
 * of this check fail if it changes.
 */
interface ImplicitResolver {
  resolveImplicitScalarTag(source: string): { readonly value: unknown; readonly tag: { readonly tagName: string } };
}
const YAML12 = yaml.CORE_SCHEMA as unknown as ImplicitResolver;
const YAML11 = yaml.YAML11_SCHEMA as unknown as ImplicitResolver;
const MERGE_TAG = 'tag:yaml.org,2002:merge';
const { SCALAR, SEQUENCE, MAPPING, ALIAS, POP } = yaml.EVENT_ID;

/**
 * Checks that `text` reads back as `expected` under YAML 1.2 (js-yaml) and under YAML 1.1, which
 * is what kubectl, kustomize and the API server read: `yes`, `on`, `0755` and `1:30` mean other
 * things there, and a value must not change meaning on its way to the cluster. One pass over the
 * parser's events, beside `expected`: each plain scalar is resolved by both schemas, and the
 * structure (keys, list lengths, kinds of node) must be the expected one.
 */
export function checkYamlReading(text: string, expected: unknown): YamlReadingProblem[] {
  const events = yaml.parseEvents(text, {});
  const problems: YamlReadingProblem[] = [];
  let next = 0;
  const at = (path: string) => path || '(document)';
  const as12 = (path: string, actual: unknown, wanted: unknown) =>
    problems.push({ path: at(path), message: `reads back as ${show(actual)} instead of ${show(wanted)} (YAML 1.2)` });
  const as11 = (path: string, actual: unknown, wanted: unknown) =>
    problems.push({ path: at(path), message: `means ${show(actual)} to YAML 1.1 readers such as kubectl, not ${show(wanted)}` });

  /** The value of a scalar under YAML 1.2 and 1.1, and whether YAML 1.1 reads it as a merge key. */
  const scalar = (event: yaml.Event & { type: typeof SCALAR }): [unknown, unknown, boolean] => {
    const source = yaml.getScalarValue(text, event);
    if (event.tagStart !== -1)
      return [{ tagged: text.slice(event.tagStart, event.tagEnd) }, { tagged: text.slice(event.tagStart, event.tagEnd) }, false];
    if (event.style !== yaml.SCALAR_STYLE.PLAIN) return [source, source, false];
    const resolved11 = YAML11.resolveImplicitScalarTag(source);
    return [YAML12.resolveImplicitScalarTag(source).value, resolved11.value, resolved11.tag.tagName === MERGE_TAG];
  };
  /** Skips one node: a scalar or alias, or a collection up to its closing event. */
  const skip = () => {
    let depth = 0;
    do {
      const type = (events[next++] as yaml.Event).type;
      if (type === SEQUENCE || type === MAPPING) depth++;
      else if (type === POP) depth--;
    } while (depth > 0);
  };
  const node = (wanted: unknown, path: string): void => {
    const event = events[next] as yaml.Event;
    if (event.type === SCALAR) {
      next++;
      const [value12, value11] = scalar(event);
      if (!same(wanted, value12)) as12(path, value12, wanted);
      if (!same(wanted, value11)) as11(path, value11, wanted);
    } else if (event.type === MAPPING && isMapping(wanted) && event.tagStart === -1) {
      next++;
      const seen = new Set<string>();
      while ((events[next] as yaml.Event).type !== POP) {
        const keyEvent = events[next] as yaml.Event;
        if (keyEvent.type !== SCALAR) {
          problems.push({ path: at(path), message: 'has a key that is not a scalar' });
          skip();
          skip();
          continue;
        }
        next++;
        const [key12, key11, merge] = scalar(keyEvent);
        const key = String(key12);
        const child = path ? `${path}.${key}` : key;
        if (merge) problems.push({ path: child, message: `is a merge key to YAML 1.1 readers such as kubectl, not the key "${key}"` });
        else if (String(key11) !== key) as11(child, key11, key);
        seen.add(key);
        node(wanted[key], child);
      }
      next++;
      for (const [key, value] of Object.entries(wanted)) {
        if (seen.has(key) || value === undefined) continue;
        as12(path ? `${path}.${key}` : key, undefined, value);
        as11(path ? `${path}.${key}` : key, undefined, value);
      }
    } else if (event.type === SEQUENCE && Array.isArray(wanted) && event.tagStart === -1) {
      next++;
      let index = 0;
      for (; (events[next] as yaml.Event).type !== POP; index++) node(wanted[index], `${path}[${index}]`);
      next++;
      if (index < wanted.length) {
        problems.push({ path: at(path), message: `reads back as a list of ${index} items instead of ${wanted.length}` });
      }
    } else {
      const kind =
        event.type === MAPPING ? 'a mapping' : event.type === SEQUENCE ? 'a list' : event.type === ALIAS ? 'an alias' : 'a tagged node';
      problems.push({ path: at(path), message: `reads back as ${kind} instead of ${show(wanted)}` });
      skip();
    }
  };

  const documents = events.filter((event) => event.type === yaml.EVENT_ID.DOCUMENT).length;
  if (documents !== 1) return [{ path: '(document)', message: `holds ${documents} YAML documents instead of one` }];
  next = 1;
  node(expected, '');
  return problems;
}

function same(expected: unknown, actual: unknown): boolean {
  return Object.is(expected, actual) || (expected instanceof Date && actual instanceof Date && expected.getTime() === actual.getTime());
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date);
}

function show(value: unknown): string {
  if (value instanceof Date) return `the timestamp ${value.toISOString()}`;
  if (value === undefined) return 'nothing';
  return `${typeof value} ${JSON.stringify(value)}`;
}
