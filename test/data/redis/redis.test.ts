import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisName, redisInstancesOf } from '../../../lib/catalog/services';
import { RecordingDataClient } from '../../../lib/core/data-client';
import type { KubernetesObject } from '../../../lib/output/render';
import type { DataChart } from '../../../lib/charts/data-chart';
import { PrefectApp } from '../../../lib/app/prefect-app';
import { build, findObject, loadEnvironment } from '../../helpers';
import { metricsRead } from '../../../lib/monitoring/alert-rules';
import { METRICS_USER, REDIS_EXPORTER } from '../../../lib/data/redis/redis-exporter';
import { toolModuleVersion, toolPath } from '../../real-tools/tools';
import {
  containerEnvironment,
  expandKubernetes,
  exposedMetrics,
  freePort,
  run,
  Scratch,
  scrapeWhen,
  waitFor,
  type EnvVarJson,
} from '../data-servers';

/** The Customer-Managed environments' Redis instances, which these tests build. */
const REDIS_INSTANCES = redisInstancesOf('customer-managed') as ReadonlyArray<'cache' | 'work' | 'streams'>;

/*
 * Each Redis instance's generated configuration, loaded by a real redis-server (7.0 here; the
 * image is 7.4) the way the pod assembles it: the init container's script writes the ACL file
 * from the Secret's files, then redis-server starts with the ConfigMap's redis.conf. Only paths
 * and the port differ from the pod.
 */

const NAMESPACE = 'prefect-data';
const SYSTEM_USER = 'redis';
const RUNUSER = run('bash', ['-c', 'command -v runuser']).stdout.trim() || '/usr/sbin/runuser';
const REDIS_SERVER = run('bash', ['-c', 'command -v redis-server']).stdout.trim() || 'redis-server';
const PASSWORD = 'c0ffee0123456789abcdef0123456789';
const ADMIN_PASSWORD = 'ad0123456789abcdef0123456789abcd';
const MiB = 2 ** 20;

interface Container {
  readonly name: string;
  readonly command: readonly string[];
  readonly env: readonly EnvVarJson[];
  readonly readinessProbe: { readonly exec: { readonly command: readonly string[] } };
  readonly livenessProbe: { readonly exec: { readonly command: readonly string[] } };
}
interface PodSpec {
  readonly initContainers: readonly Container[];
  readonly containers: readonly Container[];
}

interface Instance {
  readonly environment: string;
  readonly instance: RedisName;
  readonly port: number;
  readonly folder: string;
  readonly spec: PodSpec;
  /** Environment of the main container, with paths and port as in this test. */
  readonly env: Map<string, string>;
}

/** The container paths this test maps into its folder. */
function localPaths(folder: string): Record<string, string> {
  return {
    REDIS_PASSWORD_FILE: path.join(folder, 'secret', 'password'),
    REDIS_ADMIN_PASSWORD_FILE: path.join(folder, 'secret', 'admin-password'),
    REDIS_ACL_FILE: path.join(folder, 'acl', 'users.acl'),
    REDIS_PROBE_PASSWORD_FILE: path.join(folder, 'acl', 'probe-password'),
    REDIS_METRICS_PASSWORD_FILE: path.join(folder, 'acl', 'metrics-password.json'),
  };
}

describe.each(['dev', 'prod'])('Redis instances of %s, on a real redis-server', (environment) => {
  const rendered = build(environment);
  const scratch = new Scratch();
  const instances = new Map<RedisName, Instance>();
  const figures: string[] = [];

  const cli = (instance: Instance, args: readonly string[], auth?: { user?: string; password: string }) =>
    run(
      'redis-cli',
      ['-h', '127.0.0.1', '-p', String(instance.port), '--no-auth-warning', ...(auth?.user ? ['--user', auth.user] : []), ...args],
      {
        env: { ...process.env, ...(auth ? { REDISCLI_AUTH: auth.password } : {}) },
      },
    );
  const admin = (instance: Instance, ...args: string[]) => cli(instance, args, { user: 'admin', password: ADMIN_PASSWORD });
  const app = (instance: Instance, ...args: string[]) => cli(instance, args, { password: PASSWORD });

  beforeAll(async () => {
    for (const instance of REDIS_INSTANCES) {
      const name = `redis-${instance}`;
      const workload = findObject(rendered, instance === 'cache' ? 'Deployment' : 'StatefulSet', name, NAMESPACE);
      const spec = (workload.spec as { template: { spec: PodSpec } }).template.spec;
      const conf = (findObject(rendered, 'ConfigMap', `${name}-config`, NAMESPACE) as KubernetesObject & { data: Record<string, string> })
        .data['redis.conf'] as string;
      const folder = scratch.folder(`prefect-${name}-`);
      for (const sub of ['secret', 'acl', 'data']) fs.mkdirSync(path.join(folder, sub));
      // The Secret volume: the values exactly, no trailing newline.
      fs.writeFileSync(path.join(folder, 'secret', 'password'), PASSWORD);
      fs.writeFileSync(path.join(folder, 'secret', 'admin-password'), ADMIN_PASSWORD);
      // Redis applies `dir` while it reads the file: the copy points its two paths here.
      const local = conf
        .replace(/^dir .*$/m, `dir ${path.join(folder, 'data')}`)
        .replace(/^aclfile .*$/m, `aclfile ${localPaths(folder).REDIS_ACL_FILE}`);
      expect(local.split('\n').filter((line, index) => line !== conf.split('\n')[index])).toHaveLength(2);
      fs.writeFileSync(path.join(folder, 'redis.conf'), local);
      run('chown', ['-R', `${SYSTEM_USER}:`, folder]);

      // 1. The init container: its exact command, its environment with the paths mapped here.
      const port = await freePort();
      const init = spec.initContainers.find((container) => container.name === 'acl') as Container;
      const initEnv = containerEnvironment(init.env, {}, { ...localPaths(folder), REDIS_ADDR: `redis://127.0.0.1:${port}` });
      const written = run(RUNUSER, ['-u', SYSTEM_USER, '--', ...init.command.map((part) => expandKubernetes(part, initEnv))], {
        env: { PATH: '/usr/bin:/bin', ...Object.fromEntries(initEnv) },
      });
      expect(written.status, `${name} acl init:\n${written.stderr}`).toBe(0);

      // 2. redis-server with the ConfigMap's file; the command line moves paths and the port.
      const main = spec.containers.find((container) => container.name === 'redis') as Container;
      expect(main.command).toEqual(['redis-server', '/etc/redis/redis.conf']);
      const server = scratch.start(RUNUSER, [
        '-u',
        SYSTEM_USER,
        '--',
        REDIS_SERVER,
        path.join(folder, 'redis.conf'),
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
      ]);
      const env = containerEnvironment(main.env, {}, { ...localPaths(folder), REDIS_PORT: String(port) });
      const entry: Instance = { environment, instance, port, folder, spec, env };
      instances.set(instance, entry);
      await waitFor(
        `${name} answering`,
        20,
        () => {
          if (server.exitCode !== null) throw new Error(`${name} exited (${server.exitCode}):\n${scratch.log(server)}`);
          return admin(entry, 'PING').stdout.trim() === 'PONG';
        },
        () => scratch.log(server),
      );
    }
  });

  afterAll(async () => {
    await scratch.cleanup();
    if (figures.length > 0) console.log(`Redis (${environment}), CONFIG GET as admin:\n  ${figures.join('\n  ')}`);
  });

  const config = environmentConfig(environment);

  it.each(REDIS_INSTANCES.map((instance) => [instance]))(
    "%s: runs with its role's policies, persistence and memory (CONFIG GET)",
    (name) => {
      const instance = instances.get(name) as Instance;
      const get = (parameter: string) => {
        const result = admin(instance, 'CONFIG', 'GET', parameter);
        expect(result.status, result.stderr).toBe(0);
        return result.stdout.split('\n')[1];
      };
      const values = {
        'maxmemory-policy': get('maxmemory-policy'),
        appendonly: get('appendonly'),
        appendfsync: get('appendfsync'),
        maxmemory: get('maxmemory'),
        save: get('save'),
      };
      const memory = config[name];
      expect(values).toEqual(
        name === 'cache'
          ? { 'maxmemory-policy': 'allkeys-lru', appendonly: 'no', appendfsync: 'everysec', maxmemory: String(memory), save: '' }
          : { 'maxmemory-policy': 'noeviction', appendonly: 'yes', appendfsync: 'everysec', maxmemory: String(memory), save: '' },
      );
      figures.push(
        `${name}: ${Object.entries(values)
          .map(([key, value]) => `${key}=${value === '' ? '""' : value}`)
          .join(' ')} (${Number(values.maxmemory) / MiB} MiB)`,
      );
    },
  );

  it.each(REDIS_INSTANCES.map((instance) => [instance]))('%s: refuses a client without the password, or with a wrong one', (name) => {
    const instance = instances.get(name) as Instance;
    expect(cli(instance, ['PING']).stdout).toContain('NOAUTH Authentication required');
    expect(cli(instance, ['GET', 'x']).stdout).toContain('NOAUTH');
    expect(cli(instance, ['PING'], { password: 'wrong' }).stdout + cli(instance, ['PING'], { password: 'wrong' }).stderr).toMatch(
      /WRONGPASS|invalid username-password/,
    );
    expect(
      cli(instance, ['PING'], { user: 'admin', password: PASSWORD }).stdout +
        cli(instance, ['PING'], { user: 'admin', password: PASSWORD }).stderr,
    ).toMatch(/WRONGPASS|invalid username-password/);
  });

  it.each(REDIS_INSTANCES.map((instance) => [instance]))('%s: lets the application user work and refuses it dangerous commands', (name) => {
    const instance = instances.get(name) as Instance;
    expect(app(instance, 'SET', 'prefect:test', 'value').stdout.trim()).toBe('OK');
    expect(app(instance, 'GET', 'prefect:test').stdout.trim()).toBe('value');
    expect(app(instance, 'XADD', 'prefect:stream', '*', 'field', 'value').status).toBe(0);
    expect(app(instance, 'SCAN', '0', 'MATCH', 'prefect:*').stdout).toContain('prefect:');
    for (const command of [
      ['FLUSHALL'],
      ['FLUSHDB'],
      ['KEYS', '*'],
      ['CONFIG', 'GET', 'maxmemory'],
      ['CONFIG', 'SET', 'maxmemory', '0'],
      ['SHUTDOWN'],
      ['ACL', 'LIST'],
      ['MONITOR'],
      ['REPLICAOF', 'NO', 'ONE'],
      ['SWAPDB', '0', '1'],
    ]) {
      const result = app(instance, ...command);
      expect(result.stdout, command.join(' ')).toContain('NOPERM');
    }
    // DEBUG is off for every user (enable-debug-command no), before the ACL is even consulted.
    expect(app(instance, 'DEBUG', 'SLEEP', '0').stdout).toContain('DEBUG command not allowed');
    // Even the administrator cannot use DEBUG or load modules.
    expect(admin(instance, 'DEBUG', 'SLEEP', '0').stdout).toContain('DEBUG command not allowed');
    expect(admin(instance, 'MODULE', 'LOAD', '/nonexistent.so').stdout).toContain('MODULE command not allowed');
    expect(app(instance, 'DEL', 'prefect:test', 'prefect:stream').status).toBe(0);
  });

  it.each(REDIS_INSTANCES.map((instance) => [instance]))('%s: passes its readiness and liveness probes (their exact commands)', (name) => {
    const instance = instances.get(name) as Instance;
    const main = instance.spec.containers.find((container) => container.name === 'redis') as Container;
    for (const probe of [main.readinessProbe, main.livenessProbe]) {
      const result = run(RUNUSER, ['-u', SYSTEM_USER, '--', ...probe.exec.command], {
        env: { PATH: '/usr/bin:/bin', ...Object.fromEntries(instance.env) },
      });
      expect(result.status, result.stdout + result.stderr).toBe(0);
    }
    // With a wrong password file, the probe fails.
    const wrong = path.join(instance.folder, 'wrong-password');
    fs.writeFileSync(wrong, 'nope');
    const failing = run('/bin/sh', main.readinessProbe.exec.command.slice(1), {
      env: { PATH: '/usr/bin:/bin', ...Object.fromEntries(instance.env), REDIS_PROBE_PASSWORD_FILE: wrong },
    });
    expect(failing.status).not.toBe(0);
  });

  it.each(REDIS_INSTANCES.map((instance) => [instance]))(
    '%s: keeps passing its probes when the Secret changes, until a secrets.revision bump restarts the pod',
    (name) => {
      const instance = instances.get(name) as Instance;
      const main = instance.spec.containers.find((container) => container.name === 'redis') as Container;
      const secretFile = path.join(instance.folder, 'secret', 'password');
      // The kubelet rewrites the Secret's file in place; the server still has the ACL it started with.
      fs.writeFileSync(secretFile, 'rotated0123456789abcdef012345678');
      try {
        for (const probe of [main.readinessProbe, main.livenessProbe]) {
          const result = run(RUNUSER, ['-u', SYSTEM_USER, '--', ...probe.exec.command], {
            env: { PATH: '/usr/bin:/bin', ...Object.fromEntries(instance.env) },
          });
          expect(result.status, result.stdout + result.stderr).toBe(0);
        }
        // The new password applies only after the ACL is written again (a new pod).
        const rotated = cli(instance, ['PING'], { password: 'rotated0123456789abcdef012345678' });
        expect(rotated.stdout + rotated.stderr).toMatch(/WRONGPASS|invalid username-password/);
        expect(app(instance, 'PING').stdout.trim()).toBe('PONG');
      } finally {
        fs.writeFileSync(secretFile, PASSWORD);
      }
    },
  );

  it('keeps an append-only file for work and streams, none for the cache', () => {
    for (const name of REDIS_INSTANCES) {
      const instance = instances.get(name) as Instance;
      const files = fs.existsSync(path.join(instance.folder, 'data', 'appendonlydir'))
        ? fs.readdirSync(path.join(instance.folder, 'data', 'appendonlydir'))
        : [];
      if (name === 'cache') expect(files).toEqual([]);
      else
        expect(
          files.some((file) => file.endsWith('.aof')),
          `${name}: ${files.join(', ')}`,
        ).toBe(true);
    }
  });

  // monitoring.enabled (prod): redis_exporter, the image's version, run with the sidecar's exact
  // environment against each instance: it logs in as "metrics" with the password the init
  // container drew, every metric the alert rules read is there, and no command is refused.
  // Only where there is a sidecar (not dev): no test is skipped.
  if (loadEnvironment(environment).monitoring.enabled)
    it.each(REDIS_INSTANCES.map((instance) => [instance]))(
      '%s: the metrics sidecar reads what the alert rules use (real redis_exporter)',
      async (name) => {
        const rules = (
          findObject(rendered, 'PrometheusRule', 'prefect-alerts', 'prefect') as unknown as {
            spec: { groups: { rules: { alert: string; expr: string }[] }[] };
          }
        ).spec.groups.flatMap((group) => group.rules);
        const instance = instances.get(name) as Instance;
        const sidecar = instance.spec.containers.find((container) => container.name === 'metrics') as Container & { image: string };
        expect(sidecar.image).toBe(`${REDIS_EXPORTER.image}:${REDIS_EXPORTER.version}`);
        expect(toolModuleVersion('redis-exporter', 'github.com/oliver006/redis_exporter')).toBe(REDIS_EXPORTER.version);
        // The metrics user may read, never write or administer.
        const password = Object.values(
          JSON.parse(fs.readFileSync(localPaths(instance.folder).REDIS_METRICS_PASSWORD_FILE, 'utf8')) as Record<string, string>,
        )[0] as string;
        expect(password).toMatch(/^[0-9a-f]{64}$/);
        const asMetrics = (...args: string[]) => cli(instance, args, { user: METRICS_USER, password });
        expect(asMetrics('PING').stdout.trim()).toBe('PONG');
        for (const refused of [
          ['SET', 'k', 'v'],
          ['GET', 'k'],
          ['CONFIG', 'SET', 'maxmemory', '1'],
          ['FLUSHALL'],
          ['XADD', 's', '*', 'a', 'b'],
        ]) {
          expect(asMetrics(...refused).stdout, refused.join(' ')).toMatch(/NOPERM/);
        }
        if (name === 'streams') {
          admin(instance, 'XADD', 'events', '*', 'event', 'one');
          admin(instance, 'XGROUP', 'CREATE', 'events', 'event-persister', '0');
          admin(instance, 'SET', 'not-a-stream', 'x');
        }
        const listen = await freePort();
        const env = containerEnvironment(
          sidecar.env,
          {},
          {
            REDIS_ADDR: `redis://127.0.0.1:${instance.port}`,
            REDIS_PASSWORD_FILE: localPaths(instance.folder).REDIS_METRICS_PASSWORD_FILE,
            REDIS_EXPORTER_WEB_LISTEN_ADDRESS: `127.0.0.1:${listen}`,
          },
        );
        const exporter = scratch.start(RUNUSER, ['-u', SYSTEM_USER, '--', toolPath('redis_exporter')], {
          PATH: '/usr/bin:/bin',
          ...Object.fromEntries(env),
        });
        const text = await scrapeWhen(scratch, exporter, `http://127.0.0.1:${listen}/metrics`, `redis_exporter of ${name}`, 20, (metrics) =>
          /^redis_up 1$/m.test(metrics),
        );
        const exposed = exposedMetrics(text);
        const wanted = rules
          .filter((rule) => rule.expr.includes(`redis-${name}`))
          .flatMap((rule) => metricsRead(rule.expr))
          .filter((metric) => metric.startsWith('redis_'));
        expect(wanted.length).toBeGreaterThan(0);
        expect(wanted.filter((metric) => !exposed.has(metric))).toEqual([]);
        expect(text).toMatch(/^redis_exporter_last_scrape_error\{err=""\} 0$/m);
        // Its liveness probe's path answers.
        const probe = (sidecar as unknown as { livenessProbe: { httpGet: { path: string } } }).livenessProbe.httpGet.path;
        expect((await fetch(`http://127.0.0.1:${listen}${probe}`)).status).toBe(200);
        expect(scratch.log(exporter)).not.toMatch(/NOPERM|no permissions/i);
        // One entry added, none delivered to the group: a lag of one.
        if (name === 'streams') expect(text).toMatch(/^redis_stream_group_lag\{db="db0",group="event-persister",stream="events"\} 1$/m);
      },
    );

  it('connects with the URL a client gets from allowFrom ($(VAR) expansion, password from the Secret)', () => {
    const app = new PrefectApp(loadEnvironment(environment));
    // By layer, not `instanceof`: cdk8s makes every Chart an instance of every chart class.
    const data = app.layers.find((chart) => chart.layer === 'data') as DataChart;
    for (const name of REDIS_INSTANCES) {
      const instance = instances.get(name) as Instance;
      const client = new RecordingDataClient('probe', 'prefect', { app: 'probe' }, 'probe');
      data.redis[name].allowFrom(client);
      const env = containerEnvironment(
        [...client.env].map(([variable, value]) =>
          'value' in value ? { name: variable, value: value.value } : { name: variable, valueFrom: { secretKeyRef: value.secretKeyRef } },
        ),
        { [`prefect-redis-${name}`]: { password: PASSWORD } },
        { [`REDIS_${name.toUpperCase()}_HOST`]: '127.0.0.1', [`REDIS_${name.toUpperCase()}_PORT`]: String(instance.port) },
      );
      const url = env.get(`REDIS_${name.toUpperCase()}_URL`) as string;
      expect(url).toBe(`redis://:${PASSWORD}@127.0.0.1:${instance.port}/0`);
      // As a client library reads it (redis-py: no user name, so `AUTH <password>`); redis-cli
      // 7.0's own -u ignores a password without a user name, so the URL is parsed here.
      const parsed = new URL(url);
      expect(parsed.username).toBe('');
      const ping = run(
        'redis-cli',
        ['-h', parsed.hostname, '-p', parsed.port, '-n', parsed.pathname.slice(1), '--no-auth-warning', 'PING'],
        {
          env: { ...process.env, REDISCLI_AUTH: decodeURIComponent(parsed.password) },
        },
      );
      expect(ping.stdout.trim()).toBe('PONG');
    }
  });
});

describe('the ACL init script', () => {
  const scratch = new Scratch();
  afterAll(() => scratch.cleanup());

  it('fails on a password file with a trailing newline or an empty one, and writes no ACL file', () => {
    const spec = (findObject(build('dev'), 'Deployment', 'redis-cache', NAMESPACE).spec as { template: { spec: PodSpec } }).template.spec;
    const init = spec.initContainers[0] as Container;
    for (const [password, message] of [
      [`${PASSWORD}\n`, 'ends with a newline'],
      ['', 'is empty'],
    ] as const) {
      const folder = scratch.folder('prefect-redis-acl-');
      for (const sub of ['secret', 'acl']) fs.mkdirSync(path.join(folder, sub));
      fs.writeFileSync(path.join(folder, 'secret', 'password'), password);
      fs.writeFileSync(path.join(folder, 'secret', 'admin-password'), ADMIN_PASSWORD);
      const env = containerEnvironment(init.env, {}, localPaths(folder));
      const result = run('/bin/sh', init.command.slice(1), { env: { PATH: '/usr/bin:/bin', ...Object.fromEntries(env) } });
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain(message);
      expect(fs.existsSync(localPaths(folder).REDIS_ACL_FILE)).toBe(false);
    }
  });

  it('keeps passwords out of the ACL file (only their SHA-256 hashes)', () => {
    const spec = (findObject(build('dev'), 'Deployment', 'redis-cache', NAMESPACE).spec as { template: { spec: PodSpec } }).template.spec;
    const init = spec.initContainers[0] as Container;
    const folder = scratch.folder('prefect-redis-acl-');
    for (const sub of ['secret', 'acl']) fs.mkdirSync(path.join(folder, sub));
    fs.writeFileSync(path.join(folder, 'secret', 'password'), PASSWORD);
    fs.writeFileSync(path.join(folder, 'secret', 'admin-password'), ADMIN_PASSWORD);
    const env = containerEnvironment(init.env, {}, localPaths(folder));
    expect(run('/bin/sh', init.command.slice(1), { env: { PATH: '/usr/bin:/bin', ...Object.fromEntries(env) } }).status).toBe(0);
    const acl = fs.readFileSync(localPaths(folder).REDIS_ACL_FILE, 'utf8');
    expect(acl).not.toContain(PASSWORD);
    expect(acl).not.toContain(ADMIN_PASSWORD);
    expect(acl).toMatch(/^user default on #[0-9a-f]{64} /m);
    expect(fs.statSync(localPaths(folder).REDIS_ACL_FILE).mode & 0o077).toBe(0);
  });
});

/** maxmemory in bytes per instance, from the environment's configuration. */
function environmentConfig(environment: string): Record<'cache' | 'work' | 'streams', number> {
  const config = loadEnvironment(environment);
  const bytes = (value: string) => {
    const match = /^(\d+)(Mi|Gi)$/.exec(value);
    if (!match) throw new Error(`unexpected memory ${value}`);
    return Number(match[1]) * (match[2] === 'Gi' ? 2 ** 30 : MiB);
  };
  return { cache: bytes(config.redis.cache.memory), work: bytes(config.redis.work.memory), streams: bytes(config.redis.streams.memory) };
}
