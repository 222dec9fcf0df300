import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../helpers';

/** Where scripts/install-tools.sh builds the real tools (tools/go/<module>/go.mod pins each). */
export const TOOLS_BIN = path.join(PROJECT_ROOT, '.tools', 'go', 'bin');

export type Tool =
  | 'kube-apiserver'
  | 'etcd'
  | 'kubectl'
  | 'kubeconform'
  | 'actionlint'
  | 'flux'
  | 'promtool'
  | 'redis_exporter'
  | 'postgres_exporter'
  | 'cloudnative-pg-instance';

/** The Python of the tests' virtualenv (tools/python/requirements.txt, installed by scripts/install-tools.sh). */
export function pythonPath(): string {
  const file = path.join(PROJECT_ROOT, '.tools', 'python', 'bin', 'python');
  if (!fs.existsSync(file)) {
    throw new Error(`${path.relative(PROJECT_ROOT, file)} is missing: run scripts/install-tools.sh (make test does) to install it`);
  }
  return file;
}

/** The path of a real tool; throws, saying how to build it, when it is not built. */
export function toolPath(tool: Tool): string {
  const file = path.join(TOOLS_BIN, tool);
  if (!fs.existsSync(file)) {
    throw new Error(`${path.relative(PROJECT_ROOT, file)} is missing: run scripts/install-tools.sh (make test does) to build it`);
  }
  return file;
}

/** The version tools/go/<folder>/go.mod pins of `module` (the tool's own module). */
export function toolModuleVersion(folder: string, module: string): string {
  const goMod = fs.readFileSync(path.join(PROJECT_ROOT, 'tools', 'go', folder, 'go.mod'), 'utf8');
  const version = new RegExp(`^\\s*${module.replace(/[.]/g, '\\.')} (v\\S+)`, 'm').exec(goMod)?.[1];
  if (version === undefined) throw new Error(`tools/go/${folder}/go.mod does not require ${module}`);
  return version;
}

export interface Result {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a tool to completion, reading both pipes while it runs (a child that fills a pipe nobody
 * reads blocks), and feeding `input` on its standard input.
 */
export function runTool(tool: Tool, args: readonly string[], options: { input?: string; cwd?: string } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(toolPath(tool), args, { cwd: options.cwd ?? PROJECT_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (status) =>
      resolve({ status, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') }),
    );
    child.stdin.on('error', () => {}); // a tool that exits before reading its input
    child.stdin.end(options.input ?? '');
  });
}
