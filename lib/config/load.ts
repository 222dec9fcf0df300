import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { z } from 'zod';
import { looksSecret, namesSecret } from './prefect-schema';
import { configSchema, otherEditionSettings, type ParsedConfig, resolveHostnames } from './schema';

/** The configuration of one environment, with every default and derived value filled in. */
export interface EnvironmentConfig extends Omit<ParsedConfig, 'hostnames' | 'flux'> {
  readonly hostnames: { readonly api: string; readonly app: string };
  readonly flux: Omit<ParsedConfig['flux'], 'sops'> & {
    readonly path: string;
    readonly sops?: { readonly secretRef: string; readonly path: string };
  };
}

/** Invalid configuration: one line per problem, each naming the file and the field. */
export class ConfigError extends Error {
  constructor(public readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

/** Reads and validates `file`; `displayPath` is how the file is named in messages. */
export function loadConfigFile(file: string, displayPath: string = file): EnvironmentConfig {
  let text: string;
  try {
    // A link may point at anything (say /etc/passwd), whose text would reach the messages.
    if (fs.lstatSync(file).isSymbolicLink()) {
      const target = fs.realpathSync(file);
      if (path.dirname(target) !== fs.realpathSync(path.dirname(file))) {
        throw new ConfigError([
          `${displayPath}: a link to ${target}, outside its folder: expected the configuration file itself (or a link to one beside it)`,
        ]);
      }
    }
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder, expected a YAML file' : String((error as Error).message);
    throw new ConfigError([`${displayPath}: ${reason}`]);
  }
  const expectedEnvironment = path.basename(file).replace(/\.ya?ml$/, '');
  return parseConfig(text, displayPath, expectedEnvironment);
}

/** Parses and validates the text of a configuration file. */
export function parseConfig(text: string, displayPath: string, expectedEnvironment?: string): EnvironmentConfig {
  const emptyProblem = `${displayPath}: the file is empty; expected a mapping with at least environment, domain, tls, prefect and cluster`;
  // UTF-16 (with or without its byte-order mark) reads as text full of NUL characters.
  const head = text.slice(0, 8);
  const nuls = [...head].filter((character) => character.charCodeAt(0) === 0).length;
  if (head.startsWith('\uFFFD\uFFFD') || nuls >= 2) {
    throw new ConfigError([`${displayPath}: expected a UTF-8 text file, got UTF-16: save it as UTF-8`]);
  }
  if (text.split('\n').every((line) => /^\s*(#.*)?$/.test(line))) throw new ConfigError([emptyProblem]);
  let raw: unknown;
  try {
    raw = yaml.load(text, { filename: displayPath });
  } catch (error) {
    if (error instanceof yaml.YAMLException) {
      const mark = (error as unknown as { mark?: { line: number; column: number } }).mark;
      const where = mark ? `:${mark.line + 1}:${mark.column + 1}` : '';
      const reason = (error as unknown as { reason?: string }).reason ?? error.message.split('\n')[0];
      throw new ConfigError([`${displayPath}${where}: YAML syntax error: ${reason}${unclosedHint(text, mark?.line)}`]);
    }
    throw error;
  }
  if (raw === undefined || raw === null) {
    throw new ConfigError([emptyProblem]);
  }
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError([`${displayPath}: expected a mapping at the top level, got ${describe(raw)}`]);
  }

  const result = configSchema.safeParse(raw);
  const problems = result.success ? [] : result.error.issues.flatMap((issue) => formatIssue(issue, raw, displayPath));
  if (result.success && expectedEnvironment !== undefined && result.data.environment !== expectedEnvironment) {
    problems.push(
      `${displayPath}: environment: expected "${expectedEnvironment}" (the file's name), got ${describe(result.data.environment)}`,
    );
  }
  if (result.success) {
    for (const problem of otherEditionSettings(raw as Record<string, unknown>, result.data.edition))
      problems.push(`${displayPath}: ${problem}`);
  }
  if (!result.success || problems.length > 0) {
    throw new ConfigError(problems);
  }
  return resolve(result.data);
}

function resolve(config: ParsedConfig): EnvironmentConfig {
  const { sops, ...flux } = config.flux;
  return {
    ...config,
    hostnames: resolveHostnames(config.domain, config.hostnames),
    flux: {
      ...flux,
      path: config.flux.path ?? (config.flux.sourceRef.kind === 'OCIRepository' ? './' : `./dist/${config.environment}`),
      ...(sops ? { sops: { ...sops, path: sops.path ?? `./secrets/${config.environment}` } } : {}),
    },
  };
}

/**
 * Where a bracket or quote opened on an earlier line is never closed, the parser reports the
 * line after it: point at the line that opened it.
 */
function unclosedHint(text: string, errorLine: number | undefined): string {
  if (errorLine === undefined) return '';
  const lines = text.split('\n');
  for (let index = Math.min(errorLine, lines.length) - 1; index >= Math.max(0, errorLine - 3); index--) {
    const line = (lines[index] ?? '').replace(/\s+#.*$/, '');
    const opened = (line.match(/[[{]/g) ?? []).length - (line.match(/[\]}]/g) ?? []).length;
    const quotes = (line.match(/"/g) ?? []).length % 2 === 1 || (line.match(/'/g) ?? []).length % 2 === 1;
    if (opened > 0 || quotes) {
      return ` (line ${index + 1} opens ${opened > 0 ? 'a [ or {' : 'a quote'} that it does not close)`;
    }
  }
  return '';
}

function formatIssue(issue: z.core.$ZodIssue, raw: unknown, file: string): string[] {
  const at = (segments: readonly PropertyKey[]) => `${file}: ${formatPath(segments)}: `;
  const found = lookup(raw, issue.path);
  // A value under a field that holds or names a secret (`caSecret`, `accessKeySecret.name`, the
  // Secret names of `secrets.names`), or under a secret-looking variable, is never echoed: it may
  // be a secret put in the wrong place.
  const secretField = issue.path.find(
    (segment, index) =>
      typeof segment === 'string' &&
      ((index > 0 && namesSecret(segment)) ||
        (index === 1 && issue.path[0] === 'secrets' && segment === 'names') ||
        (issue.path[index - 1] === 'env' && looksSecret(segment))),
  );
  const value = secretField === undefined || typeof found !== 'string' ? found : new Redacted(found.length, String(secretField));
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => {
        const known = knownKeys(issue.path, raw);
        const suggestion = known.length > 0 ? closest(key, known) : undefined;
        const hint = suggestion ? `; did you mean "${suggestion}"?` : known.length > 0 ? `; expected one of: ${known.join(', ')}` : '';
        return `${at([...issue.path, key])}unknown key${hint}`;
      });
    case 'invalid_type': {
      if (value === undefined) {
        return [`${at(issue.path)}required: expected ${article(issue.expected)}, got nothing`];
      }
      const expected = issue.message.startsWith('Invalid input') ? article(issue.expected) : issue.message.replace(/^expected /, '');
      return [`${at(issue.path)}expected ${expected}, got ${describe(value)}${yaml11Hint(value, issue.expected)}`];
    }
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? `at least ${String(issue.minimum)}` : `at most ${String(issue.maximum)}`;
      const expected = issue.message.startsWith('Too ')
        ? `expected ${issue.origin === 'array' ? `${bound} items` : issue.origin === 'string' ? `${bound} characters` : bound}`
        : issue.message;
      return [`${at(issue.path)}${expected}, got ${describe(value)}`];
    }
    case 'invalid_key': {
      // A record's key that its key schema refuses: the path ends at the key, and what is wrong is the key itself.
      const key = issue.path[issue.path.length - 1];
      const reason = issue.issues[0]?.message ?? 'expected another key';
      return [`${at(issue.path)}${reason.startsWith('Invalid') ? 'expected another key' : reason}, got the key ${describe(String(key))}`];
    }
    case 'invalid_value': {
      // zod's own wording ("Invalid option: expected one of "a"|"b"") in the words of the other messages.
      const message = issue.message.startsWith('Invalid')
        ? `expected ${issue.values.length === 1 ? '' : 'one of '}${issue.values.map((option) => JSON.stringify(option)).join(', ')}`
        : issue.message;
      if (value === undefined) return [`${at(issue.path)}required: ${message}, got nothing`];
      return [`${at(issue.path)}${message}, got ${describe(value)}`];
    }
    case 'invalid_union':
      if (value === undefined) return [`${at(issue.path)}required: ${issue.message}, got nothing`];
      return [`${at(issue.path)}${issue.message}, got ${describe(value)}`];
    default:
      if (issue.path.length > 0 && value === undefined) return [`${at(issue.path)}required: ${issue.message}`];
      // A value that may be a secret is never echoed.
      if ((issue as { params?: { redact?: boolean } }).params?.redact) return [`${at(issue.path)}${issue.message}`];
      return [
        `${at(issue.path)}${issue.message}${value !== null && typeof value === 'object' && !(value instanceof Redacted) ? '' : `, got ${describe(value)}`}`,
      ];
  }
}

function formatPath(segments: readonly PropertyKey[]): string {
  if (segments.length === 0) return '(top level)';
  return segments.reduce<string>(
    (text, segment) => (typeof segment === 'number' ? `${text}[${segment}]` : text ? `${text}.${String(segment)}` : String(segment)),
    '',
  );
}

function lookup(raw: unknown, segments: readonly PropertyKey[]): unknown {
  let current: unknown = raw;
  for (const segment of segments) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return current;
}

/** A found value that is not shown, only its length. */
class Redacted {
  constructor(
    readonly length: number,
    readonly field: string,
  ) {}
}

/** Found values are cut to this many characters in messages. */
const SHOWN_CHARACTERS = 80;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Redacted) return `a string of ${value.length} characters (not shown: "${value.field}" holds or names a secret)`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') {
    if (value.length <= SHOWN_CHARACTERS) return JSON.stringify(value);
    return `${JSON.stringify(value.slice(0, SHOWN_CHARACTERS))}… (${value.length} characters)`;
  }
  const text = String(value);
  return `${typeof value} ${text.length <= SHOWN_CHARACTERS ? text : `${text.slice(0, SHOWN_CHARACTERS)}…`}`;
}

function article(expected: string): string {
  const names: Record<string, string> = {
    object: 'a mapping',
    array: 'a list',
    number: 'a number',
    int: 'an integer',
    string: 'a string',
    boolean: 'true or false',
  };
  return names[expected] ?? expected;
}

/** YAML 1.1 read `yes`/`on`/`no`/`off` as booleans; YAML 1.2 (and this loader) reads them as strings. */
function yaml11Hint(value: unknown, expected: string): string {
  return expected === 'boolean' && typeof value === 'string' && /^(y|yes|on|n|no|off)$/i.test(value)
    ? ' (write true or false: YAML 1.2 reads this word as a string)'
    : '';
}

/** The keys the schema accepts at `segments`, for "did you mean" hints. */
/**
 * The object options of a union that fit `raw`: those whose literal and enum fields (a
 * discriminator such as `mode` or `provider`) admit its values, or all when none does.
 */
function unionObjects(schema: z.ZodUnion, raw: unknown): z.ZodObject[] {
  const objects = (schema.options as z.core.$ZodType[])
    .map(unwrap)
    .filter((option): option is z.ZodObject => option instanceof z.ZodObject);
  const record = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  const fitting = objects.filter((option) =>
    Object.entries(option.shape as Record<string, z.core.$ZodType>).every(([key, field]) => {
      const inner = unwrap(field);
      if (record[key] === undefined) return true;
      if (inner instanceof z.ZodLiteral) return inner.values.has(record[key] as never);
      if (inner instanceof z.ZodEnum) return (inner.options as unknown[]).includes(record[key]);
      return true;
    }),
  );
  return fitting.length > 0 ? fitting : objects;
}

function knownKeys(segments: readonly PropertyKey[], raw?: unknown): string[] {
  let schema: z.core.$ZodType | undefined = configSchema;
  let value = raw;
  for (const segment of segments) {
    schema = unwrap(schema);
    if (schema instanceof z.ZodUnion) {
      const options = unionObjects(schema, value);
      schema = options.map((option) => (option.shape as Record<string, z.core.$ZodType>)[String(segment)]).find(Boolean);
    } else if (schema instanceof z.ZodObject) {
      schema = (schema.shape as Record<string, z.core.$ZodType>)[String(segment)];
    } else if (schema instanceof z.ZodRecord) {
      schema = schema.valueType as z.core.$ZodType;
    } else if (schema instanceof z.ZodArray) {
      schema = schema.element as z.core.$ZodType;
    } else {
      return [];
    }
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[String(segment)] : undefined;
  }
  schema = unwrap(schema);
  if (schema instanceof z.ZodUnion) return [...new Set(unionObjects(schema, value).flatMap((option) => Object.keys(option.shape)))];
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

function unwrap(schema: z.core.$ZodType | undefined): z.core.$ZodType | undefined {
  let current = schema;
  for (;;) {
    if (
      current instanceof z.ZodDefault ||
      current instanceof z.ZodPrefault ||
      current instanceof z.ZodOptional ||
      current instanceof z.ZodNullable
    ) {
      current = current.unwrap() as z.core.$ZodType;
    } else if (current instanceof z.ZodPipe) {
      current = current.in as z.core.$ZodType;
    } else {
      return current;
    }
  }
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = levenshtein(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length] as number;
}
