/*
 * build/main.js, the entry point that `make synth` and the cdk8s CLI run: it runs the bundled
 * generator, build/app.js (main.ts), from V8's code cache in build/code-cache/, so that a run
 * does not parse and compile the bundle again (lib/core/code-cache.ts).
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { runWithCodeCache } from '../core/code-cache';

const filename = path.join(__dirname, 'app.js');
runWithCodeCache(fs.readFileSync(filename, 'utf8'), {
  filename,
  cacheFolder: path.join(__dirname, 'code-cache'),
  require: createRequire(filename),
});
