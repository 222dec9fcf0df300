import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/*
 * Throwaway servers for the data-layer tests (PostgreSQL, redis-server): free ports, process
 * groups that are always stopped, temporary folders that are always removed, and the
 * environment a container would see (Kubernetes `$(VAR)` expansion, Secret references).
 */

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Servers and folders to clean up; `cleanup()` is safe to call whatever failed before. */
export class Scratch {
  private readonly processes: ChildProcess[] = [];
  private readonly folders: string[] = [];
  private readonly logFiles = new Map<ChildProcess, string>();

  /** A new temporary folder, optionally owned by `owner` (a system user). */
  public folder(prefix: string, owner?: string): string {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    this.folders.push(folder);
    if (owner) run('chown', ['-R', `${owner}:`, folder]);
    return folder;
  }

  /**
   * Starts a server in its own process group, so that stopping it stops its children too. Its
   * output goes to a file, never a pipe: while a test blocks in spawnSync nothing would read a
   * pipe, and a server whose pipe is full stops in the middle of its work.
   */
  public start(command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
    const logFile = path.join(this.folder('server-log-'), 'output.log');
    const output = fs.openSync(logFile, 'a');
    const child = spawn(command, args, { detached: true, env, stdio: ['ignore', output, output] });
    fs.closeSync(output);
    this.processes.push(child);
    this.logFiles.set(child, logFile);
    return child;
  }

  public log(child: ChildProcess): string {
    const logFile = this.logFiles.get(child);
    return logFile !== undefined && fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
  }

  public async cleanup(): Promise<void> {
    for (const child of this.processes.reverse()) await stopGroup(child);
    for (const folder of this.folders) fs.rmSync(folder, { recursive: true, force: true });
  }
}

/** SIGINT (PostgreSQL's fast shutdown, Redis's shutdown), then SIGKILL after 5 s. */
async function stopGroup(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid as number), name);
    } catch {
      // already gone
    }
  };
  signal('SIGINT');
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 5000).unref());
  if ((await Promise.race([exited, timeout])) === 'timeout') {
    signal('SIGKILL');
    await exited;
  }
}

export function run(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; input?: string; timeout?: number } = {}) {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    env: options.env ?? process.env,
    input: options.input,
    timeout: options.timeout ?? 60_000,
  });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '', error: result.error };
}

/** Polls `check` until it returns true or `seconds` pass. */
export async function waitFor(
  what: string,
  seconds: number,
  check: () => boolean | Promise<boolean>,
  diagnostics: () => string = () => '',
): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${what} did not happen within ${seconds} s\n${diagnostics()}`);
}

/**
 * Kubernetes' `$(VAR)` expansion, as the kubelet applies it to env values, command and args:
 * a reference to a variable defined earlier (or in `defined`) is replaced, `$$` is a literal
 * `$`, anything else stays as written.
 */
export function expandKubernetes(text: string, defined: ReadonlyMap<string, string>): string {
  let out = '';
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char !== '$' || index + 1 >= text.length) {
      out += char;
      continue;
    }
    const next = text[index + 1];
    if (next === '$') {
      out += '$';
      index++;
    } else if (next === '(') {
      const end = text.indexOf(')', index + 2);
      const name = end === -1 ? undefined : text.slice(index + 2, end);
      if (name !== undefined && defined.has(name)) {
        out += defined.get(name);
        index = end;
      } else {
        out += char;
      }
    } else {
      out += char;
    }
  }
  return out;
}

export interface EnvVarJson {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: { readonly secretKeyRef?: { readonly name: string; readonly key: string } };
}

/** Secret values by Secret name and key, as the test "creates" them. */
export type TestSecrets = Readonly<Record<string, Readonly<Record<string, string>>>>;

/**
 * The environment a container gets from its `env` list: values expanded in order, Secret
 * references looked up in `secrets` (a missing Secret or key fails, as the kubelet would).
 * `overrides` replace a variable's value before later variables refer to it (host and port).
 */
export function containerEnvironment(
  env: readonly EnvVarJson[],
  secrets: TestSecrets,
  overrides: Readonly<Record<string, string>> = {},
): Map<string, string> {
  const result = new Map<string, string>();
  for (const variable of env) {
    let value: string;
    if (variable.valueFrom?.secretKeyRef) {
      const { name, key } = variable.valueFrom.secretKeyRef;
      const secret = secrets[name];
      if (secret?.[key] === undefined) throw new Error(`env ${variable.name}: Secret ${name} has no key ${key} in this test`);
      value = secret[key] as string;
    } else {
      value = expandKubernetes(variable.value ?? '', result);
    }
    result.set(variable.name, overrides[variable.name] ?? value);
  }
  return result;
}

/** The installed PostgreSQL server's programs (PostgreSQL 15 on these machines; the newest if several). */
export const POSTGRES_BIN = run('bash', ['-c', 'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1']).stdout.trim();
/** PostgreSQL refuses to run as root: its programs run as this system user. */
export const POSTGRES_USER = 'postgres';
export const RUNUSER = run('bash', ['-c', 'command -v runuser']).stdout.trim() || '/usr/sbin/runuser';

/**
 * A new PostgreSQL cluster in `folder/data` (owned by the postgres user, superuser "postgres"
 * with `password`, SCRAM only), started on loopback at a free port with `settings` as `-c`
 * options (the socket folder and the address are set here), and waited for.
 */
export async function startPostgres(
  scratch: Scratch,
  folder: string,
  password: string,
  settings: readonly string[] = [],
): Promise<{ port: number; server: ChildProcess }> {
  const file = (name: string) => path.join(folder, name);
  fs.writeFileSync(file('superuser-password'), password);
  fs.mkdirSync(file('run'), { recursive: true });
  run('chown', ['-R', `${POSTGRES_USER}:`, folder]);
  const initdb = run(RUNUSER, [
    '-u',
    POSTGRES_USER,
    '--',
    `${POSTGRES_BIN}/initdb`,
    `--pgdata=${file('data')}`,
    '--username=postgres',
    `--pwfile=${file('superuser-password')}`,
    '--auth=scram-sha-256',
    '--encoding=UTF8',
    '--locale=C.UTF-8',
  ]);
  if (initdb.status !== 0) throw new Error(`initdb failed:\n${initdb.stderr}`);
  const port = await freePort();
  const options = [...settings, `unix_socket_directories=${file('run')}`, 'listen_addresses=127.0.0.1', `port=${port}`];
  const server = scratch.start(RUNUSER, [
    '-u',
    POSTGRES_USER,
    '--',
    `${POSTGRES_BIN}/postgres`,
    '-D',
    file('data'),
    ...options.flatMap((option) => ['-c', option]),
  ]);
  await waitFor(
    'PostgreSQL accepting connections',
    30,
    () => {
      if (server.exitCode !== null) throw new Error(`PostgreSQL exited (${server.exitCode}):\n${scratch.log(server)}`);
      return run(`${POSTGRES_BIN}/pg_isready`, ['-h', '127.0.0.1', '-p', String(port)]).status === 0;
    },
    () => scratch.log(server),
  );
  return { port, server };
}

/**
 * Scrapes an exporter `scratch` started until its text satisfies `ready`, and returns that text;
 * fails at once if the exporter exits, and with its log and the last text when time runs out.
 */
export async function scrapeWhen(
  scratch: Scratch,
  exporter: ChildProcess,
  url: string,
  what: string,
  seconds: number,
  ready: (text: string) => boolean,
): Promise<string> {
  let text = '';
  await waitFor(
    what,
    seconds,
    async () => {
      if (exporter.exitCode !== null) throw new Error(`the exporter exited:\n${scratch.log(exporter)}`);
      try {
        text = await (await fetch(url)).text();
      } catch {
        return false;
      }
      return ready(text);
    },
    () => `${scratch.log(exporter)}\n${text.slice(0, 3000)}`,
  );
  return text;
}

/** The names of the metrics in a Prometheus text exposition. */
export function exposedMetrics(text: string): Set<string> {
  return new Set([...text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/gm)].map((match) => match[1] as string));
}
