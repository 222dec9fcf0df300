/*
 * V8's code cache (lib/core/code-cache.ts) may only make a run faster: each case runs in a child
 * process, as synthesis does, and gives the same result with no cache, a written one, a damaged
 * one and one written for other source.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../helpers';

const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'prefect-cdk8s-code-cache-'));
const cacheFolder = path.join(folder, 'cache');
afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

/** Runs `source` through runWithCodeCache in a new Node process; what it exported and how it compiled. */
function runChild(source: string): { result: unknown; cache: string } {
  const driver = [
    `const { runWithCodeCache } = require(${JSON.stringify(path.join(PROJECT_ROOT, 'lib', 'core', 'code-cache.ts'))});`,
    `const { exports, cache } = runWithCodeCache(${JSON.stringify(source)}, { filename: ${JSON.stringify(path.join(folder, 'module.js'))}, cacheFolder: ${JSON.stringify(cacheFolder)}, require });`,
    'console.log(JSON.stringify({ result: exports.answer(), cache }));',
  ].join('\n');
  const child = spawnSync(process.execPath, ['--import', 'tsx', '-e', driver], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  expect(child.status, child.stderr).toBe(0);
  return JSON.parse(child.stdout.trim().split('\n').pop() as string);
}

const SOURCE =
  'const table = Array.from({ length: 50 }, (_, i) => i * i);\nexports.answer = () => table.reduce((a, b) => a + b, 0) + __filename.length * 0;';

describe('the code cache', () => {
  it('compiles anew without a cache, writes one at exit, and the next run uses it, with the same result', () => {
    const first = runChild(SOURCE);
    expect(first).toEqual({ result: 40425, cache: 'absent' });
    const files = fs.readdirSync(cacheFolder);
    expect(files).toHaveLength(1);
    expect(runChild(SOURCE)).toEqual({ result: 40425, cache: 'used' });
  });

  it('ignores a damaged cache (its seal fails), compiles anew and rewrites it', () => {
    const [file] = fs.readdirSync(cacheFolder);
    const cacheFile = path.join(cacheFolder, file as string);
    const bytes = fs.readFileSync(cacheFile);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff;
    fs.writeFileSync(cacheFile, bytes);
    expect(runChild(SOURCE)).toEqual({ result: 40425, cache: 'absent' });
    expect(runChild(SOURCE)).toEqual({ result: 40425, cache: 'used' });
  });

  it('compiles anew when V8 refuses a sealed cache (bytecode of another build)', () => {
    const [file] = fs.readdirSync(cacheFolder);
    const data = Buffer.from('not bytecode at all, but correctly sealed'.repeat(8));
    fs.writeFileSync(path.join(cacheFolder, file as string), Buffer.concat([createHash('sha256').update(data).digest(), data]));
    expect(runChild(SOURCE)).toEqual({ result: 40425, cache: 'rejected' });
    expect(runChild(SOURCE)).toEqual({ result: 40425, cache: 'used' });
  });

  it('keeps other source apart: a changed module never runs the bytecode of the old one', () => {
    const changed = SOURCE.replace('i * i', 'i + i');
    expect(runChild(changed)).toEqual({ result: 2450, cache: 'absent' });
    expect(fs.readdirSync(cacheFolder)).toHaveLength(2);
    expect(runChild(changed)).toEqual({ result: 2450, cache: 'used' });
  });
});
