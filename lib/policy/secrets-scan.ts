/*
 * Secrets scan over dist/ and config/: no secret value may ever land in either. Objects
 * reference Secrets by name; a literal value next to a password-like key is what leaks. Findings never print the value itself, only a redacted hint.
 *
 *   secret-object     a `kind: Secret` (anywhere, nested ones included) with data or stringData
 *   private-key       a PEM private key block
 *   cloud-key         a well-known credential format (AWS access key id, GitHub, Slack, Google, Stripe)
 *   credential-url    a URL with a literal password (`scheme://user:password@host`)
 *   high-entropy      a literal value of 16+ characters with high Shannon entropy under a key
 *                     (or env var name, or `key=value` line) matching password|passwd|secret|token|
 *                     apikey|api_key|credential|private
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';

export type SecretFindingKind = 'secret-object' | 'private-key' | 'cloud-key' | 'credential-url' | 'high-entropy';

export interface SecretFinding {
  /** The file, relative to the scanned root (e.g. `dist/prod/data/secret.x.yaml`). */
  readonly file: string;
  /** 1-based, when known. */
  readonly line?: number;
  readonly kind: SecretFindingKind;
  readonly message: string;
}

export interface ScannedFile {
  readonly file: string;
  readonly text: string;
}

/** Key names (and env var names) whose literal values must not look random. */
export const SENSITIVE_KEY = /password|passwd|secret|token|apikey|api_key|credential|private/i;
/** Values shorter than this are not judged by entropy (too short to tell). */
export const MINIMUM_SECRET_LENGTH = 16;
/** Bits per character at or above which a value counts as random; hex-only values use the lower one (4 bits is their maximum). */
export const ENTROPY_THRESHOLD = 3.5;
export const HEX_ENTROPY_THRESHOLD = 3.0;

const PRIVATE_KEY = /-----BEGIN[ A-Z0-9]*PRIVATE KEY( BLOCK)?-----/g;
const CLOUD_KEYS: ReadonlyArray<{ readonly name: string; readonly pattern: RegExp }> = [
  { name: 'AWS access key id', pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g },
  { name: 'GitHub token', pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b/g },
  { name: 'Slack token', pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/g },
  { name: 'Google API key', pattern: /\bAIza[0-9A-Za-z_-]{35}\b/g },
  { name: 'Stripe live key', pattern: /\b[sr]k_live_[0-9A-Za-z]{24,}\b/g },
];
const CREDENTIAL_URL = /\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@'"]+:([^\s/@'"]+)@/gi;
/** `name=value`, `name: value` or `name value` inside a string (config files, command lines). */
const EMBEDDED_ASSIGNMENT =
  /([A-Za-z0-9_.-]*(?:password|passwd|secret|token|apikey|api_key|credential|private|requirepass|masterauth)[A-Za-z0-9_.-]*)["']?\s*(?:=|:|\s)\s*["']?([^\s"',;]+)/gi;

/** Shannon entropy of `value`, in bits per character. */
export function shannonEntropy(value: string): number {
  const counts = new Map<string, number>();
  for (const character of value) counts.set(character, (counts.get(character) ?? 0) + 1);
  let entropy = 0;
  const length = [...value].length;
  for (const count of counts.values()) {
    const probability = count / length;
    entropy -= probability * Math.log2(probability);
  }
  return entropy;
}

/**
 * A value that refers to something rather than being a secret: a name made of words
 * (`prefect-postgres-superuser`, `tls.crt`, `NEBULA_DATABASE_PASSWORD`), a path, a URL without
 * credentials, an environment, shell or template reference.
 */
export function isReference(value: string): boolean {
  // $(VAR), ${VAR}, $VAR (Kubernetes and shell expansion), {{ template }}
  if (/^\$[({]?[A-Za-z_]|\{\{.*\}\}/.test(value)) return true;
  if (value.startsWith('/') || value.startsWith('./') || value.startsWith('~/')) return true;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value) && !new RegExp(CREDENTIAL_URL.source, 'i').test(value)) return true;
  // Names made of words: prefect-postgres-superuser, tls.crt, NEBULA_DATABASE_PASSWORD, redis7.
  // Random strings interleave letters and digits or mix cases within a segment.
  const segments = value.split(/[-._/]/);
  return segments.every((segment) => /^[a-z]+[0-9]*$/.test(segment) || /^[A-Z]+[0-9]*$/.test(segment) || /^[0-9]+$/.test(segment));
}

/** A literal that looks random enough to be a credential. */
export function looksLikeSecret(value: string): boolean {
  if (value.length < MINIMUM_SECRET_LENGTH || isReference(value)) return false;
  const threshold = /^[0-9a-f]+$/i.test(value) ? HEX_ENTROPY_THRESHOLD : ENTROPY_THRESHOLD;
  return shannonEntropy(value) >= threshold;
}

/** `abcd…(32 characters)`: enough to find the value, not enough to use it. */
export function redact(value: string): string {
  return `${value.slice(0, 4)}…(${value.length} characters)`;
}

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let position = text.indexOf('\n'); position !== -1 && position < index; position = text.indexOf('\n', position + 1)) line++;
  return line;
}

function firstLineContaining(text: string, needle: string): number | undefined {
  const index = text.indexOf(needle);
  return index < 0 ? undefined : lineOf(text, index);
}

/** Scans one file's text; YAML and JSON documents are also read structurally. */
export function scanText(file: string, text: string): SecretFinding[] {
  const findings: SecretFinding[] = [];
  for (const match of text.matchAll(PRIVATE_KEY)) {
    findings.push({ file, line: lineOf(text, match.index ?? 0), kind: 'private-key', message: `a PEM private key (${match[0]})` });
  }
  for (const { name, pattern } of CLOUD_KEYS) {
    for (const match of text.matchAll(pattern)) {
      findings.push({
        file,
        line: lineOf(text, match.index ?? 0),
        kind: 'cloud-key',
        message: `what looks like a ${name}: ${redact(match[0])}`,
      });
    }
  }
  for (const match of text.matchAll(CREDENTIAL_URL)) {
    const password = match[1] as string;
    if (isPlaceholder(password)) continue;
    findings.push({
      file,
      line: lineOf(text, match.index ?? 0),
      kind: 'credential-url',
      message: `a URL with a literal password (${redact(password)})`,
    });
  }

  let documents: unknown[] = [];
  if (/\.(ya?ml|json)$/i.test(file)) {
    try {
      documents = yaml.loadAll(text);
    } catch {
      documents = []; // not structured: the text patterns above still apply
    }
  }
  const seen = new Set<string>();
  const report = (finding: SecretFinding) => {
    const key = `${finding.kind}|${finding.line}|${finding.message}`;
    if (seen.has(key)) return;
    findings.push(finding);
    seen.add(key);
  };
  for (const [index, document] of documents.entries()) {
    walk(document, documents.length > 1 ? `document ${index + 1}` : '', (finding) => report({ file, ...finding }), text);
  }
  return findings;
}

/** A stand-in for a password in a URL or `key=value`: an expansion, a template, a mask. */
function isPlaceholder(value: string): boolean {
  return /^\$[({]?[A-Za-z_]|^\{\{.*\}\}$|^\*+$|^<.+>$/.test(value);
}

type Report = (finding: Omit<SecretFinding, 'file'>) => void;

function walk(node: unknown, where: string, report: Report, text: string): void {
  const at = (key: string | number) => (typeof key === 'number' ? `${where}[${key}]` : where ? `${where}.${key}` : key);
  if (Array.isArray(node)) {
    for (const [index, item] of node.entries()) walk(item, at(index), report, text);
    return;
  }
  if (node === null || typeof node !== 'object') {
    if (typeof node === 'string') scanEmbedded(node, where, report, text);
    return;
  }
  const mapping = node as Record<string, unknown>;
  if (mapping.kind === 'Secret' && typeof mapping.apiVersion === 'string') {
    for (const field of ['data', 'stringData']) {
      const values = mapping[field];
      if (values !== null && typeof values === 'object' && Object.keys(values).length > 0) {
        const name = (mapping.metadata as { name?: string } | undefined)?.name ?? '<unnamed>';
        report({
          line: firstLineContaining(text, `${field}:`) ?? firstLineContaining(text, `"${field}"`),
          kind: 'secret-object',
          message: `${at(field)}: Secret ${name} carries ${field} (${Object.keys(values).join(', ')}); reference an existing Secret or an ExternalSecret instead`,
        });
      }
    }
  }
  // An env var (or any name/value pair): the name is the key that makes the value sensitive.
  if (typeof mapping.name === 'string' && typeof mapping.value === 'string' && SENSITIVE_KEY.test(mapping.name)) {
    judge(mapping.name, mapping.value, at('value'), report, text);
  }
  for (const [key, value] of Object.entries(mapping)) {
    if (typeof value === 'string' && SENSITIVE_KEY.test(key)) judge(key, value, at(key), report, text);
    walk(value, at(key), report, text);
  }
}

function judge(key: string, value: string, where: string, report: Report, text: string): void {
  if (!looksLikeSecret(value)) return;
  report({
    line: firstLineContaining(text, value),
    kind: 'high-entropy',
    message: `${where}: a literal, random-looking value under "${key}" (${redact(value)}, ${shannonEntropy(value).toFixed(2)} bits/character); reference a Secret instead`,
  });
}

/** `password=…` lines inside longer strings (configuration files, command lines). */
function scanEmbedded(value: string, where: string, report: Report, text: string): void {
  if (value.length < MINIMUM_SECRET_LENGTH) return;
  for (const match of value.matchAll(EMBEDDED_ASSIGNMENT)) {
    const key = match[1] as string;
    const literal = match[2] as string;
    if (isPlaceholder(literal)) continue;
    judge(key, literal, where, report, text);
  }
}

/** Every file under `root/<folder>` for each folder, scanned; paths relative to `root`. */
export function scanFolders(root: string, folders: readonly string[] = ['dist', 'config']): SecretFinding[] {
  return folders
    .flatMap((folder) => listFiles(root, folder))
    .flatMap((file) => scanText(file, fs.readFileSync(path.join(root, file), 'utf8')));
}

function listFiles(root: string, relative: string): string[] {
  const absolute = path.join(root, relative);
  if (!fs.existsSync(absolute)) return [];
  if (!fs.statSync(absolute).isDirectory()) return [relative];
  return fs
    .readdirSync(absolute)
    .sort()
    .flatMap((name) => listFiles(root, `${relative}/${name}`));
}

export function formatSecretFindings(findings: readonly SecretFinding[]): string {
  if (findings.length === 0) return 'secrets scan: passed';
  return [
    ...findings.map((finding) => `${finding.kind}: ${finding.file}${finding.line ? `:${finding.line}` : ''}: ${finding.message}`),
    `secrets scan: FAILED: ${findings.length} finding(s)`,
  ].join('\n');
}
