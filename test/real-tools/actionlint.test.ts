/*
 * The pull-request workflow (.github/workflows/) as GitHub would run it: actionlint finds nothing
 * (and finds a planted mistake), and every action is pinned by commit.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../helpers';
import { runTool } from './tools';

const WORKFLOWS = path.join(PROJECT_ROOT, '.github', 'workflows');
const workflows = fs.readdirSync(WORKFLOWS).filter((file) => /\.ya?ml$/.test(file));

describe('the GitHub Actions workflows', () => {
  it('pass actionlint', async () => {
    expect(workflows.length).toBeGreaterThan(0);
    const result = await runTool('actionlint', ['-color=false', ...workflows.map((file) => path.join(WORKFLOWS, file))]);
    expect(`${result.stdout}${result.stderr}`).toBe('');
    expect(result.status).toBe(0);
  });

  it('fail actionlint with a planted mistake (a misspelt key)', async () => {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'prefect-cdk8s-workflow-'));
    try {
      const text = fs.readFileSync(path.join(WORKFLOWS, 'test.yml'), 'utf8');
      const planted = text.replace('    runs-on:', '    runs-onn:');
      expect(planted).not.toBe(text);
      fs.writeFileSync(path.join(folder, 'test.yml'), planted);
      const result = await runTool('actionlint', ['-color=false', path.join(folder, 'test.yml')]);
      expect(result.status).not.toBe(0);
      expect(result.stdout).toMatch(/unexpected key "runs-onn"/);
      expect(result.stdout).toMatch(/"runs-on" section is missing/);
    } finally {
      fs.rmSync(folder, { recursive: true, force: true });
    }
  });

  it.each(workflows)('%s pins every action by its full commit, with the version beside it', (file) => {
    const text = fs.readFileSync(path.join(WORKFLOWS, file), 'utf8');
    const uses = [...text.matchAll(/^\s*(?:-\s*)?uses:\s*(.+)$/gm)].map((match) => (match[1] as string).trim());
    expect(uses.length).toBeGreaterThan(0);
    for (const use of uses) expect(use).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
  });
});
