// Prints one SHA-256 over every file of every environment built in memory (for the determinism test).
import { createHash } from 'node:crypto';
import { build, ENVIRONMENTS } from './helpers';

const hash = createHash('sha256');
for (const environment of ENVIRONMENTS) {
  for (const [file, content] of build(environment).files) hash.update(`${environment}/${file}\n${content}\n`);
}
console.log(hash.digest('hex'));
