/**
 * Caches that make a synthesis fast without changing its answer, both under `build/` (ignored):
 *
 * - compiled validators: ajv's standalone code of each kind's validator, keyed by the schema
 *   bundle and the ajv release, so a kind is compiled once per bundle instead of at every run;
 * - checked objects: the texts that passed every check of a successful synthesis, keyed by the
 *   bundle and the generator build, so an unchanged object is not checked again;
 * - rendered texts: the YAML of each object of a successful synthesis by its JSON, keyed by the
 *   generator build, so an unchanged object is not dumped again.
 *
 * Every entry carries its own sha256: a damaged or foreign entry is ignored (and rewritten), so a
 * cold, damaged or deleted cache gives the same result as a warm one.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type { ValidateFunction } from 'ajv';
import { runWithCodeCache } from '../core/code-cache';
import { sha256 } from './schema-bundle';

/** Bumped when the way validators are generated changes in a way the inputs do not show. */
const VALIDATOR_FORMAT = 2;

/** Writes a file whole or not at all (a rename within one folder). */
function writeAtomically(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const scratch = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(scratch, text);
  fs.renameSync(scratch, file);
}

/** A cache entry: a first line `// sha256 <hex>` of the rest. */
function sealed(body: string): string {
  return `// sha256 ${sha256(body)}\n${body}`;
}

function unsealed(text: string): string | undefined {
  return unsealedWithHash(text)?.body;
}

function unsealedWithHash(text: string): { body: string; sha256: string } | undefined {
  const newline = text.indexOf('\n');
  const match = /^\/\/ sha256 ([0-9a-f]{64})$/.exec(text.slice(0, newline));
  const body = text.slice(newline + 1);
  return match !== null && sha256(body) === match[1] ? { body, sha256: match[1] } : undefined;
}

function readIfPresent(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Where strict validation keeps and finds the standalone code of its validators. */
export interface CompiledValidatorStore {
  load(id: string): ValidateFunction | undefined;
  save(id: string, code: string): void;
}

export class FileValidatorStore implements CompiledValidatorStore {
  private readonly folder: string;
  private readonly requireFromProject: NodeJS.Require;

  /** @param bundleId the schema bundle's identity (SchemaBundle.id). */
  constructor(projectRoot: string, bundleId: string) {
    this.requireFromProject = createRequire(path.join(projectRoot, 'package.json'));
    const ajvVersion = (this.requireFromProject('ajv/package.json') as { version: string }).version;
    const key = sha256(`${bundleId} ajv ${ajvVersion} format ${VALIDATOR_FORMAT}`).slice(0, 16);
    this.folder = path.join(projectRoot, 'build', 'validators', key);
  }

  private file(id: string): string {
    return path.join(this.folder, `${id.replace(/[^A-Za-z0-9.-]+/g, '_')}.js`);
  }

  load(id: string): ValidateFunction | undefined {
    const file = this.file(id);
    const text = readIfPresent(file);
    const entry = text === undefined ? undefined : unsealedWithHash(text);
    if (entry === undefined) return undefined;
    try {
      // The standalone code requires ajv's runtime helpers and ajv-formats: from the project's
      // node_modules. Compiled from V8's code cache when a run compiled it before.
      const { exports } = runWithCodeCache(entry.body, {
        filename: file,
        cacheFolder: path.join(this.folder, 'code-cache'),
        require: this.requireFromProject,
        sourceSha256: entry.sha256,
      });
      const module = exports as { default?: ValidateFunction };
      const validate = module.default ?? (exports as ValidateFunction);
      return typeof validate === 'function' ? validate : undefined;
    } catch {
      return undefined;
    }
  }

  save(id: string, code: string): void {
    try {
      writeAtomically(this.file(id), sealed(code));
    } catch {
      // A cache that cannot be written only makes the next run slower.
    }
  }
}

/** The objects (by the sha256 of their text) that passed every check of a successful synthesis, per environment. */
export interface CheckedObjects {
  has(environment: string, text: string): boolean;
  add(environment: string, text: string): void;
  /** Keeps what was added, after a successful synthesis. */
  save(): void;
}

export class FileCheckedObjects implements CheckedObjects {
  private readonly folder: string;
  private readonly known = new Map<string, ReadonlySet<string>>();
  private readonly passed = new Map<string, Set<string>>();
  /** The sha256 of each text asked about, so that `add` after `has` does not hash it again. */
  private readonly hashes = new Map<string, string>();

  private hash(text: string): string {
    let hash = this.hashes.get(text);
    if (hash === undefined) {
      hash = sha256(text);
      this.hashes.set(text, hash);
    }
    return hash;
  }

  /**
   * @param bundleId the schema bundle's identity (SchemaBundle.id)
   * @param generatorBuild the identity of the code that runs the checks (e.g. the bundle's sha256)
   */
  constructor(projectRoot: string, bundleId: string, generatorBuild: string) {
    const key = sha256(`${bundleId} ${generatorBuild}`).slice(0, 16);
    this.folder = path.join(projectRoot, 'build', 'checked', key);
  }

  private file(environment: string): string {
    return path.join(this.folder, `${environment}.txt`);
  }

  has(environment: string, text: string): boolean {
    let known = this.known.get(environment);
    if (known === undefined) {
      const content = readIfPresent(this.file(environment));
      const body = content === undefined ? undefined : unsealed(content);
      known = new Set(body === undefined ? [] : body.split('\n').filter((line) => /^[0-9a-f]{64}$/.test(line)));
      this.known.set(environment, known);
    }
    return known.has(this.hash(text));
  }

  add(environment: string, text: string): void {
    const passed = this.passed.get(environment) ?? new Set<string>();
    passed.add(this.hash(text));
    this.passed.set(environment, passed);
  }

  save(): void {
    // Each environment's file holds its last synthesis alone: it never grows with the history.
    for (const [environment, passed] of this.passed) {
      try {
        writeAtomically(this.file(environment), sealed([...passed].sort().join('\n')));
      } catch {
        // A cache that cannot be written only makes the next run slower.
      }
    }
  }
}

/** The YAML of the objects of a successful synthesis, by the sha256 of their JSON, per environment. */
export interface RenderedTexts {
  /** The YAML of an object of `environment` by its JSON: from the cache, or `dump()` now; kept either way. */
  render(environment: string, json: string, dump: () => string): string;
  /** Keeps what was remembered, after a successful synthesis. */
  save(): void;
}

export class FileRenderedTexts implements RenderedTexts {
  private readonly folder: string;
  private readonly known = new Map<string, ReadonlyMap<string, string>>();
  private readonly used = new Map<string, Map<string, string>>();

  /** @param generatorBuild the identity of the code that renders (e.g. the bundle's sha256) */
  constructor(projectRoot: string, generatorBuild: string) {
    this.folder = path.join(projectRoot, 'build', 'rendered', sha256(`rendered ${generatorBuild}`).slice(0, 16));
  }

  private file(environment: string): string {
    return path.join(this.folder, `${environment}.json`);
  }

  private entries(environment: string): ReadonlyMap<string, string> {
    let known = this.known.get(environment);
    if (known === undefined) {
      const content = readIfPresent(this.file(environment));
      const body = content === undefined ? undefined : unsealed(content);
      known = new Map();
      if (body !== undefined) {
        try {
          const parsed = JSON.parse(body) as Record<string, unknown>;
          for (const [key, text] of Object.entries(parsed)) {
            if (/^[0-9a-f]{64}$/.test(key) && typeof text === 'string') (known as Map<string, string>).set(key, text);
          }
        } catch {
          known = new Map();
        }
      }
      this.known.set(environment, known);
    }
    return known;
  }

  render(environment: string, json: string, dump: () => string): string {
    const key = sha256(json);
    const text = this.entries(environment).get(key) ?? dump();
    const used = this.used.get(environment) ?? new Map<string, string>();
    used.set(key, text);
    this.used.set(environment, used);
    return text;
  }

  save(): void {
    // Each environment's file holds its last synthesis alone.
    for (const [environment, used] of this.used) {
      const sorted = Object.fromEntries([...used].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
      try {
        writeAtomically(this.file(environment), sealed(JSON.stringify(sorted)));
      } catch {
        // A cache that cannot be written only makes the next run slower.
      }
    }
  }
}
