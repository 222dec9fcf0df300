import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../helpers';

/** The README's lines that start with `flux <verb> kustomization`, split into arguments (none is quoted). */
export function readmeFluxLines(environment: string, verb: 'build' | 'diff'): string[][] {
  const readme = fs.readFileSync(path.join(PROJECT_ROOT, 'dist', environment, 'README.md'), 'utf8');
  return readme
    .split('\n')
    .filter((line) => line.startsWith(`flux ${verb} kustomization `))
    .map((line) => line.split(' ').slice(1));
}
