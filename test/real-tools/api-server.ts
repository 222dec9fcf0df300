/*
 * A real Kubernetes control plane for the tests: etcd and kube-apiserver (built by
 * scripts/install-tools.sh) on loopback, with no controller manager and no nodes. It validates
 * what a cluster validates on apply: the built-in types, CRD schemas with their defaults and CEL
 * rules, immutable fields on update, and admission (Pod Security among the default plugins).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Result, runTool, toolPath } from './tools';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

export class ApiServer {
  /** Starts etcd and kube-apiserver in a fresh folder and waits until the API server is ready. */
  static async start(): Promise<ApiServer> {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'prefect-cdk8s-apiserver-'));
    const server = new ApiServer(folder);
    try {
      await server.boot();
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  private readonly processes: ChildProcess[] = [];
  private readonly kubeconfig: string;

  private constructor(private readonly folder: string) {
    this.kubeconfig = path.join(folder, 'kubeconfig');
  }

  private launch(tool: 'etcd' | 'kube-apiserver', args: readonly string[]): ChildProcess {
    // The logs go to files: nothing has to read them while the servers run.
    const log = fs.openSync(path.join(this.folder, `${tool}.log`), 'a');
    const child = spawn(toolPath(tool), args, { cwd: this.folder, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.processes.push(child);
    return child;
  }

  /** The last lines a server logged, for a failure message. */
  logTail(tool: 'etcd' | 'kube-apiserver', lines = 20): string {
    const file = path.join(this.folder, `${tool}.log`);
    return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '(no log)';
  }

  private async boot(): Promise<void> {
    const [client, peer, secure] = [await freePort(), await freePort(), await freePort()];
    const etcd = this.launch('etcd', [
      `--data-dir=${path.join(this.folder, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${client}`,
      `--advertise-client-urls=http://127.0.0.1:${client}`,
      `--listen-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-cluster=default=http://127.0.0.1:${peer}`,
      '--unsafe-no-fsync',
      '--log-level=error',
    ]);

    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const serviceAccountKey = path.join(this.folder, 'service-account.key');
    fs.writeFileSync(serviceAccountKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const token = randomBytes(24).toString('hex');
    fs.writeFileSync(path.join(this.folder, 'tokens.csv'), `${token},admin,admin,system:masters\n`, { mode: 0o600 });
    const apiServer = this.launch('kube-apiserver', [
      `--etcd-servers=http://127.0.0.1:${client}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${secure}`,
      `--cert-dir=${path.join(this.folder, 'certs')}`,
      `--token-auth-file=${path.join(this.folder, 'tokens.csv')}`,
      '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${serviceAccountKey}`,
      `--service-account-signing-key-file=${serviceAccountKey}`,
      '--service-cluster-ip-range=10.96.0.0/16',
      '--profiling=false',
      // As clusters run it (kubeadm's default): Pod Security admission, not this switch, is what refuses privileged pods.
      '--allow-privileged=true',
    ]);

    fs.writeFileSync(
      this.kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{name: test, cluster: {server: "https://127.0.0.1:${secure}", insecure-skip-tls-verify: true}}]`,
        `users: [{name: admin, user: {token: "${token}"}}]`,
        'contexts: [{name: test, context: {cluster: test, user: admin}}]',
        'current-context: test',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );

    const deadline = Date.now() + 120_000;
    for (;;) {
      for (const [tool, child] of [
        ['etcd', etcd],
        ['kube-apiserver', apiServer],
      ] as const) {
        if (child.exitCode !== null) throw new Error(`${tool} exited with ${child.exitCode}:\n${this.logTail(tool)}`);
      }
      const ready = await this.kubectl(['get', '--raw=/readyz']);
      if (ready.status === 0 && ready.stdout.trim() === 'ok') return;
      if (Date.now() > deadline) throw new Error(`kube-apiserver was not ready in 120 s:\n${this.logTail('kube-apiserver')}`);
      await sleep(250);
    }
  }

  /** kubectl against this server. */
  kubectl(args: readonly string[], input?: string): Promise<Result> {
    return runTool('kubectl', [`--kubeconfig=${this.kubeconfig}`, `--cache-dir=${path.join(this.folder, 'kubectl-cache')}`, ...args], {
      input,
    });
  }

  /** The Flux CLI against this server, in `cwd` (default: the project). */
  flux(args: readonly string[], cwd?: string): Promise<Result> {
    return runTool('flux', [`--kubeconfig=${this.kubeconfig}`, ...args], cwd ? { cwd } : {});
  }

  /** Stops the servers and removes their folder. */
  async stop(): Promise<void> {
    await Promise.all(
      this.processes.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
          }),
      ),
    );
    fs.rmSync(this.folder, { recursive: true, force: true });
  }
}
