import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { listFiles } from '../../lib/output/atomic-tree';
import { listEnvironments, synthesize } from '../../lib/app/synthesize';
import { PROJECT_ROOT, sharedValidator } from '../helpers';
import { toolPath } from '../real-tools/tools';

const DIST = path.join(PROJECT_ROOT, 'dist');

describe('the committed output', () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'prefect-dist-'));
  afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it('is exactly what `make synth` generates (run it and commit dist/ when this fails)', () => {
    const out = path.join(scratch, 'dist');
    synthesize({ projectRoot: PROJECT_ROOT, outDir: out, validator: sharedValidator() });
    const committed = listFiles(DIST);
    expect(committed).toEqual(listFiles(out));
    for (const file of committed) {
      expect(fs.readFileSync(path.join(DIST, file), 'utf8'), `dist/${file}`).toBe(fs.readFileSync(path.join(out, file), 'utf8'));
    }
  });

  it('has a config/schema.json that matches the zod schema (run `make schema` when this fails)', () => {
    const out = path.join(scratch, 'schema.json');
    execFileSync('npx', ['tsx', 'scripts/export-json-schema.ts', out], { cwd: PROJECT_ROOT });
    expect(fs.readFileSync(path.join(PROJECT_ROOT, 'config', 'schema.json'), 'utf8')).toBe(fs.readFileSync(out, 'utf8'));
  });

  const folders = listEnvironments(path.join(PROJECT_ROOT, 'config')).flatMap((environment) =>
    fs
      .readdirSync(path.join(DIST, environment), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => `${environment}/${entry.name}`),
  );

  it.each(folders)('builds with `kubectl kustomize`: dist/%s', (folder) => {
    const built = execFileSync(toolPath('kubectl'), ['kustomize', path.join(DIST, folder)], { encoding: 'utf8' });
    const documents = yaml.loadAll(built).filter(Boolean) as Array<{ kind: string; metadata: { name: string } }>;
    const files = fs.readdirSync(path.join(DIST, folder)).filter((file) => file !== 'kustomization.yaml');
    expect(documents).toHaveLength(files.length);
    const expected = files.map(
      (file) => yaml.load(fs.readFileSync(path.join(DIST, folder, file), 'utf8')) as { kind: string; metadata: { name: string } },
    );
    const key = (object: { kind: string; metadata: { name: string } }) => `${object.kind}/${object.metadata.name}`;
    expect(documents.map(key).sort()).toEqual(expected.map(key).sort());
  });
});
