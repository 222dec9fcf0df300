/*
 * V8's code cache for the generator's own code (the bundle, the compiled validators): a script
 * compiled once keeps its bytecode in a file under `build/`, so a later run skips parsing and
 * compiling it. The cache is written when the process exits, after the run, so that it holds the
 * functions the run compiled lazily too. The file is keyed by the source's sha256, Node's release
 * and the architecture, and sealed with its own sha256: a damaged, foreign or stale cache is
 * ignored (V8 also refuses bytecode of another release), and the run compiles as without one.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';

const DIGEST_BYTES = 32;
const pending = new Map<string, vm.Script>();

function digest(data: Uint8Array | string): Buffer {
  return createHash('sha256').update(data).digest();
}

function readSealed(file: string): Buffer | undefined {
  let content: Buffer;
  try {
    content = fs.readFileSync(file);
  } catch {
    return undefined;
  }
  if (content.length <= DIGEST_BYTES) return undefined;
  const data = content.subarray(DIGEST_BYTES);
  return digest(data).equals(content.subarray(0, DIGEST_BYTES)) ? data : undefined;
}

function writeSealed(file: string, data: Buffer): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const scratch = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(scratch, Buffer.concat([digest(data), data]));
    fs.renameSync(scratch, file);
  } catch {
    // A cache that cannot be written only makes the next run slower.
  }
}

function writePending(): void {
  for (const [file, script] of pending) writeSealed(file, script.createCachedData());
  pending.clear();
}

/**
 * Where the module that runWithCodeCache runs finds its own source's sha256 while it loads (the
 * generator's build identity, without hashing its bundle a second time).
 */
export const RUNNING_SOURCE_SHA256 = Symbol.for('prefect-cdk8s.running-source-sha256');

/** The sha256 of the source that runWithCodeCache is running now, if any. */
export function runningSourceSha256(): string | undefined {
  return (globalThis as Record<symbol, string | undefined>)[RUNNING_SOURCE_SHA256];
}

export interface CommonJsModule {
  exports: unknown;
}

/** How a run compiled: from a cache of this source, or anew (no cache, or one that was damaged or refused). */
export type CodeCacheUse = 'used' | 'absent' | 'rejected';

/**
 * Runs `source` as a CommonJS module (with `require`, `module`, `exports`, `__filename` and
 * `__dirname`) and returns its exports, compiling it from the code cache in `cacheFolder` when
 * one is there for this very source; without one, the cache is written when the process exits.
 */
export function runWithCodeCache(
  source: string,
  options: {
    readonly filename: string;
    readonly cacheFolder: string;
    readonly require: NodeJS.Require;
    readonly module?: CommonJsModule;
    /** The source's sha256 (hex), when the caller has it already. */
    readonly sourceSha256?: string;
  },
): { readonly exports: unknown; readonly cache: CodeCacheUse } {
  const sourceSha256 = options.sourceSha256 ?? createHash('sha256').update(source).digest('hex');
  const key = createHash('sha256').update(`${sourceSha256}\0${process.version}\0${process.arch}`).digest('hex').slice(0, 32);
  const cacheFile = path.join(options.cacheFolder, `${key}.bin`);
  const cachedData = readSealed(cacheFile);
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: options.filename,
    ...(cachedData ? { cachedData } : {}),
  });
  if (cachedData === undefined || script.cachedDataRejected) {
    if (pending.size === 0) process.once('exit', writePending);
    pending.set(cacheFile, script);
  }
  const module = options.module ?? { exports: {} };
  const run = script.runInThisContext() as (...args: unknown[]) => void;
  const globals = globalThis as Record<symbol, string | undefined>;
  const outer = globals[RUNNING_SOURCE_SHA256];
  globals[RUNNING_SOURCE_SHA256] = sourceSha256;
  try {
    run.call(module.exports, module.exports, options.require, module, options.filename, path.dirname(options.filename));
  } finally {
    globals[RUNNING_SOURCE_SHA256] = outer;
  }
  return { exports: module.exports, cache: cachedData === undefined ? 'absent' : script.cachedDataRejected ? 'rejected' : 'used' };
}
