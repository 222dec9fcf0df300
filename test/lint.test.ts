import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, run } from './helpers';

/*
 * `make test` runs `biome ci` (formatter and linter) over the tree. This proves, with the
 * project's own configuration, that an import cycle fails it — type-only imports included.
 */
describe('the linter', () => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'lint-'));
  afterAll(() => fs.rmSync(folder, { recursive: true, force: true }));

  const lint = () => run(path.join(PROJECT_ROOT, 'node_modules', '.bin', 'biome'), ['lint', '--colors=off', '.'], folder);

  it('fails on an import cycle made of type imports, and passes once it is broken', () => {
    fs.copyFileSync(path.join(PROJECT_ROOT, 'biome.json'), path.join(folder, 'biome.json'));
    fs.writeFileSync(
      path.join(folder, 'biome.json'),
      fs.readFileSync(path.join(folder, 'biome.json'), 'utf8').replace('./node_modules/@biomejs', `${PROJECT_ROOT}/node_modules/@biomejs`),
    );
    fs.mkdirSync(path.join(folder, 'lib'));
    fs.writeFileSync(path.join(folder, 'lib', 'a.ts'), "import type { B } from './b';\n\nexport interface A {\n  readonly b: B;\n}\n");
    fs.writeFileSync(path.join(folder, 'lib', 'b.ts'), "import type { A } from './a';\n\nexport interface B {\n  readonly a?: A;\n}\n");
    const cyclic = lint();
    expect(cyclic.status).not.toBe(0);
    expect(`${cyclic.stdout}${cyclic.stderr}`).toContain('lint/suspicious/noImportCycles');

    fs.writeFileSync(path.join(folder, 'lib', 'b.ts'), 'export interface B {\n  readonly name: string;\n}\n');
    const broken = lint();
    expect(`${broken.stdout}${broken.stderr}`).not.toContain('noImportCycles');
    expect(broken.status).toBe(0);
  });
});
