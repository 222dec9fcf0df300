import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, run } from './helpers';

/*
 * `make test` runs `biome ci` (formatter and linter) over the tree. This proves, with the
 * project's own configuration, that an import cycle fails it — type-only imports included.
 */
/**
 * The architecture, lowest first: a folder of lib/ imports only from its own folder and from
 * folders below it (README › Layout). A new import that runs up fails here.
 */
const FOLDER_ORDER: Readonly<Record<string, number>> = {
  core: 0,
  catalog: 1,
  config: 2,
  mesh: 2,
  policy: 2,
  flux: 3,
  platform: 4,
  data: 5,
  edge: 5,
  prefect: 6,
  monitoring: 6,
  charts: 7,
  customize: 7,
  output: 8,
  validation: 9,
  app: 10,
};

describe('the import structure', () => {
  const lib = path.join(PROJECT_ROOT, 'lib');
  const sources = fs.readdirSync(lib, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts'));

  it('has no source file directly in lib/, and every folder in the order', () => {
    expect(sources.filter((file) => !file.includes(path.sep))).toEqual([]);
    expect([...new Set(sources.map((file) => file.split(path.sep)[0] as string))].sort()).toEqual(Object.keys(FOLDER_ORDER).sort());
  });

  it('imports only from the same folder or one below it, type imports included', () => {
    const upward: string[] = [];
    for (const file of sources) {
      const from = file.split(path.sep)[0] as string;
      for (const [, specifier] of fs.readFileSync(path.join(lib, file), 'utf8').matchAll(/from '(\.[^']+)'/g)) {
        const target = path.relative(lib, path.resolve(lib, path.dirname(file), specifier as string));
        if (target.startsWith('..')) continue; // imports/ (generated CRD classes)
        const to = target.split(path.sep)[0] as string;
        if (to !== from && (FOLDER_ORDER[to] as number) >= (FOLDER_ORDER[from] as number)) upward.push(`lib/${file} -> lib/${target}`);
      }
    }
    expect(upward).toEqual([]);
  });
});

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
