import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubernetesObject, RenderedEnvironment } from '../../lib/output/render';
import { METRICS_USER, metricsAclLine } from '../../lib/data/redis/redis-exporter';
import { buildVariant } from '../config-variants';
import { build, findObject, objectsOfKind } from '../helpers';
import {
  containerEnvironment,
  expandKubernetes,
  freePort,
  POSTGRES_BIN,
  POSTGRES_USER,
  RUNUSER,
  run,
  Scratch,
  scrapeWhen,
  startPostgres,
  waitFor,
  type EnvVarJson,
  type TestSecrets,
} from '../data/data-servers';
import { pythonPath, toolPath } from './tools';

/*
 * The open-source edition end to end, on the real Prefect server (the release pinned in
 * tools/python/requirements.txt, with prefect-redis), a real PostgreSQL and a real redis-server on
 * loopback. Every process runs the generated container's exact command and environment, with
 * three mappings only: Secrets filled with test values, the services' hostnames and ports mapped
 * to the loopback servers (and the API's --host/--port to loopback), and the pod's /tmp emptyDir to
 * a scratch folder. Then, through the REST API: health and readiness, basic auth, a flow and a
 * flow run whose state changes, and an event that only the background services can persist
 * (the API servers run with --no-services; the event reaches them through Redis). Then the
 * consumer groups the ScaledObject scales on, on the real Redis, and as the messaging instance's
 * redis_exporter reports them with monitoring on.
 */

const BIN = POSTGRES_BIN;
const SYSTEM_USER = POSTGRES_USER;
const REDIS_SERVER = run('bash', ['-c', 'command -v redis-server']).stdout.trim() || 'redis-server';
const PASSWORDS = {
  superuser: '3c9e1a7b5d2f4e6a8c0b1d3f5e7a9c2b',
  prefect: '7e1c3a5b9d2f4a6c8e0b1d3f5a7c9e2d',
  redis: '1f3e5d7c9b2a4e6c8d0f1a3b5c7e9d2f',
};
const AUTH_STRING = 'admin:4a6c8e0b1d3f5a7c';
const SECRETS: TestSecrets = {
  'prefect-postgres-superuser': { username: 'postgres', password: PASSWORDS.superuser },
  'prefect-postgres-prefect': { username: 'prefect', password: PASSWORDS.prefect },
  'prefect-redis-messaging': { password: PASSWORDS.redis },
  'prefect-api-auth': { 'auth-string': AUTH_STRING },
};
const AUTHORIZATION = `Basic ${Buffer.from(AUTH_STRING).toString('base64')}`;

type Spec = Record<string, any>;
interface Container {
  readonly name?: string;
  readonly command: readonly string[];
  readonly args?: readonly string[];
  readonly env: readonly EnvVarJson[];
}

const firstContainer = (object: KubernetesObject): Container => (object.spec as Spec).template.spec.containers[0] as Container;

describe('the open-source edition on the real Prefect server', () => {
  const rendered: RenderedEnvironment = build('oss');
  const scratch = new Scratch();
  const folder = () => scratchFolder;
  let scratchFolder = '';
  let postgresPort = 0;
  let redisPort = 0;
  let apiPort = 0;
  let api: ReturnType<Scratch['start']> | undefined;
  let background: ReturnType<Scratch['start']> | undefined;
  const packageBefore: string[] = [];
  const outputs: string[] = [];

  /** The pod's emptyDir /tmp, in the scratch folder (one per process, as each pod has its own). */
  const podTmp = (name: string) => {
    const directory = path.join(folder(), `${name}-tmp`);
    fs.mkdirSync(directory, { recursive: true });
    return directory;
  };

  /** A container's environment as the kubelet gives it, with the loopback servers and the pod's /tmp mapped. */
  const environmentOf = (container: Container, name: string): Map<string, string> => {
    const tmp = podTmp(name);
    const env = containerEnvironment(container.env, SECRETS, {
      POSTGRES_SUPERUSER_HOST: '127.0.0.1',
      POSTGRES_SUPERUSER_PORT: String(postgresPort),
      PREFECT_DATABASE_HOST: '127.0.0.1',
      PREFECT_DATABASE_PORT: String(postgresPort),
      REDIS_MESSAGING_HOST: '127.0.0.1',
      REDIS_MESSAGING_PORT: String(redisPort),
    });
    for (const [variable, value] of env) {
      if (value === '/tmp' || value.startsWith('/tmp/')) env.set(variable, tmp + value.slice('/tmp'.length));
    }
    return env;
  };

  /** The process environment: the container's, and a PATH to the pinned Prefect. */
  const processEnv = (env: Map<string, string>): NodeJS.ProcessEnv => ({
    PATH: `${path.dirname(pythonPath())}:/usr/bin:/bin`,
    ...Object.fromEntries(env),
  });

  const request = async (method: string, route: string, body?: unknown, authorization: string | null = AUTHORIZATION) => {
    const response = await fetch(`http://127.0.0.1:${apiPort}${route}`, {
      method,
      headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, text, json: () => JSON.parse(text) as Spec };
  };

  /** Every file of the installed prefect package (not bytecode): the pods' read-only root filesystem. */
  const packageFiles = () => {
    const root = path.join(path.dirname(path.dirname(pythonPath())), 'lib');
    const found = run('bash', ['-c', `find ${JSON.stringify(root)} -path '*/site-packages/prefect/*' -not -path '*/__pycache__*' | sort`]);
    return found.stdout.split('\n').filter(Boolean);
  };

  beforeAll(async () => {
    scratchFolder = scratch.folder('prefect-oss-e2e-', SYSTEM_USER);
    packageBefore.push(...packageFiles());
    // PostgreSQL with the generated postgresql.conf and pg_hba.conf, on loopback.
    const configMap = findObject(rendered, 'ConfigMap', 'postgres-config', 'prefect-data') as KubernetesObject & {
      data: Record<string, string>;
    };
    const file = (name: string) => path.join(folder(), name);
    fs.writeFileSync(file('postgresql.conf'), configMap.data['postgresql.conf'] as string);
    fs.writeFileSync(file('pg_hba.conf'), configMap.data['pg_hba.conf'] as string);
    ({ port: postgresPort } = await startPostgres(scratch, folder(), PASSWORDS.superuser, [
      `config_file=${file('postgresql.conf')}`,
      `hba_file=${file('pg_hba.conf')}`,
      // The generated size is for the pod's memory limit; a test server needs less.
      'shared_buffers=128MB',
    ]));
    // Redis: the application user ("default") with its password, as the generated ACL makes it.
    redisPort = await freePort();
    const redis = scratch.start(REDIS_SERVER, [
      '--bind',
      '127.0.0.1',
      '--port',
      String(redisPort),
      '--requirepass',
      PASSWORDS.redis,
      '--save',
      '',
      '--appendonly',
      'no',
    ]);
    await waitFor('redis-server answering', 15, () => {
      if (redis.exitCode !== null) throw new Error(`redis-server exited:\n${scratch.log(redis)}`);
      return run('redis-cli', ['-p', String(redisPort), '-a', PASSWORDS.redis, '--no-auth-warning', 'ping']).stdout.trim() === 'PONG';
    });

    // The data layer's init Job, then the migrations layer's Job, as Flux runs them.
    const initJob = objectsOfKind(rendered, 'Job').find((job) =>
      job.metadata.name.startsWith('postgres-init-prefect-'),
    ) as KubernetesObject;
    const init = firstContainer(initJob);
    const initEnv = environmentOf(init, 'init');
    const initResult = run(RUNUSER, ['-u', SYSTEM_USER, '--', ...init.command.map((part) => expandKubernetes(part, initEnv))], {
      env: { PATH: `${BIN}:/usr/bin:/bin`, ...Object.fromEntries(initEnv) },
    });
    outputs.push(`init Job → exit ${initResult.status}\n${initResult.stdout}${initResult.stderr}`);
    expect(initResult.status, initResult.stderr).toBe(0);

    const migrationJob = objectsOfKind(rendered, 'Job').find((job) => job.metadata.name.startsWith('migrate-prefect-')) as KubernetesObject;
    const migration = firstContainer(migrationJob);
    const migrationEnv = environmentOf(migration, 'migrate');
    const [executable, ...migrationArgs] = migration.command.map((part) => expandKubernetes(part, migrationEnv));
    const migrated = run(executable as string, migrationArgs, { env: processEnv(migrationEnv), timeout: 300_000 });
    outputs.push(
      `migration Job (${migration.command.join(' ')}) → exit ${migrated.status}\n${migrated.stdout.slice(-2000)}${migrated.stderr.slice(-2000)}`,
    );
    expect(migrated.status, migrated.stderr).toBe(0);

    // The API server and the background services, each with its Deployment's command and environment.
    apiPort = await freePort();
    const apiContainer = firstContainer(findObject(rendered, 'Deployment', 'api', 'prefect'));
    const apiEnv = environmentOf(apiContainer, 'api');
    const apiArgs = [...(apiContainer.args ?? [])].map((part) => expandKubernetes(part, apiEnv));
    // The pod listens on every address at its port; here on loopback, at a free port.
    const hostIndex = apiArgs.indexOf('--host');
    const portIndex = apiArgs.indexOf('--port');
    expect(hostIndex, 'the API server is told where to listen').toBeGreaterThanOrEqual(0);
    expect(portIndex).toBeGreaterThanOrEqual(0);
    apiArgs[hostIndex + 1] = '127.0.0.1';
    apiArgs[portIndex + 1] = String(apiPort);
    const [apiExecutable, ...apiCommand] = apiContainer.command;
    api = scratch.start(apiExecutable as string, [...apiCommand, ...apiArgs], processEnv(apiEnv));

    const backgroundContainer = firstContainer(findObject(rendered, 'Deployment', 'background', 'prefect'));
    const backgroundEnv = environmentOf(backgroundContainer, 'background');
    const [backgroundExecutable, ...backgroundCommand] = backgroundContainer.command;
    background = scratch.start(
      backgroundExecutable as string,
      [...backgroundCommand, ...(backgroundContainer.args ?? [])],
      processEnv(backgroundEnv),
    );

    const started = api;
    const backgroundProcess = background;
    await waitFor(
      'the Prefect API server answering /api/health',
      90,
      () => {
        if (started.exitCode !== null) throw new Error(`the API server exited (${started.exitCode}):\n${scratch.log(started)}`);
        if (backgroundProcess.exitCode !== null) {
          throw new Error(`the background services exited (${backgroundProcess.exitCode}):\n${scratch.log(backgroundProcess)}`);
        }
        return run('curl', ['-fsS', '-o', '/dev/null', `http://127.0.0.1:${apiPort}/api/health`]).status === 0;
      },
      () => scratch.log(started),
    );
  }, 360_000);

  afterAll(async () => {
    if (api) outputs.push(`API server log (tail):\n${scratch.log(api).slice(-3000)}`);
    if (background) outputs.push(`background services log (tail):\n${scratch.log(background).slice(-3000)}`);
    await scratch.cleanup();
    if (process.env.PREFECT_E2E_LOG) console.log(outputs.join('\n'));
  });

  it('answers /api/health and /api/ready without credentials (the probes), and nothing else', async () => {
    const health = await request('GET', '/api/health', undefined, null);
    expect(health.status).toBe(200);
    expect(health.json()).toBe(true);
    const ready = await request('GET', '/api/ready', undefined, null);
    expect(ready.status, ready.text).toBe(200);
    expect((await request('POST', '/api/flows/filter', {}, null)).status).toBe(401);
    expect((await request('POST', '/api/flows/filter', {}, 'Basic d3Jvbmc6d3Jvbmc=')).status).toBe(401);
    expect((await request('POST', '/api/flows/filter', {})).status).toBe(200);
  });

  it('runs a flow run through its states, and stores them', async () => {
    const flow = await request('POST', '/api/flows/', { name: `e2e-${randomUUID().slice(0, 8)}` });
    expect(flow.status, flow.text).toBe(201);
    const flowRun = await request('POST', '/api/flow_runs/', {
      flow_id: flow.json().id,
      name: 'e2e-run',
      state: { type: 'PENDING', name: 'Pending' },
    });
    expect(flowRun.status, flowRun.text).toBe(201);
    const id = flowRun.json().id as string;
    for (const [type, name] of [
      ['RUNNING', 'Running'],
      ['COMPLETED', 'Completed'],
    ] as const) {
      const transition = await request('POST', `/api/flow_runs/${id}/set_state`, { state: { type, name } });
      expect(transition.status, transition.text).toBe(201);
      expect(transition.json().status, transition.text).toBe('ACCEPT');
    }
    const stored = await request('GET', `/api/flow_runs/${id}`);
    expect(stored.json().state_type).toBe('COMPLETED');
    const history = await request('GET', `/api/flow_run_states/?flow_run_id=${id}`);
    expect((history.json() as unknown as Spec[]).map((state) => state.type).sort()).toEqual(['COMPLETED', 'PENDING', 'RUNNING']);
  });

  it('persists an event sent to the API through the background services (Redis messaging), and reads it back', async () => {
    const resource = `e2e.resource.${randomUUID()}`;
    const sent = await request('POST', '/api/events', [
      {
        id: randomUUID(),
        occurred: new Date().toISOString(),
        event: 'e2e.test.happened',
        resource: { 'prefect.resource.id': resource },
        payload: { step: 'sent' },
      },
    ]);
    expect(sent.status, sent.text).toBe(204);
    let found: Spec[] = [];
    const read = async () => {
      const response = await request('POST', '/api/events/filter', {
        filter: { event: { name: ['e2e.test.happened'] }, resource: { id: [resource] }, occurred: { since: '2000-01-01T00:00:00Z' } },
      });
      found = (response.json().events ?? []) as Spec[];
      return found.length > 0;
    };
    const deadline = Date.now() + 60_000;
    while (!(await read()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(found, `the event was not persisted:\n${background ? scratch.log(background).slice(-3000) : ''}`).toHaveLength(1);
    expect(found[0]?.payload).toEqual({ step: 'sent' });
  }, 90_000);

  it('has the consumer groups its ScaledObject scales on, on the real Redis (autoscaling.backlog)', () => {
    // After an event went through: every stream and group a trigger of the generated ScaledObject
    // names exists, so KEDA reads a real lag (a wrong name would leave the service at its minimum).
    const triggers = (findObject(rendered, 'ScaledObject', 'background', 'prefect').spec as { triggers: Spec[] }).triggers.filter(
      (trigger) => trigger.type === 'redis-streams',
    );
    expect(triggers.length).toBeGreaterThan(0);
    for (const trigger of triggers) {
      const { stream, consumerGroup } = trigger.metadata as { stream: string; consumerGroup: string };
      const groups = run('redis-cli', ['-p', String(redisPort), '-a', PASSWORDS.redis, '--no-auth-warning', 'XINFO', 'GROUPS', stream]);
      expect(groups.status, groups.stderr).toBe(0);
      expect(
        groups.stdout.split('\n').map((line) => line.trim()),
        `${stream}: ${groups.stdout}`,
      ).toContain(consumerGroup);
    }
  });

  it("reports every consumer group's lag through the messaging instance's exporter, by stream name (monitoring.enabled)", async () => {
    // The sidecar of oss with monitoring on: redis_exporter of the image's version, logged in as the
    // metrics user with the generated ACL rule, asking for the catalog's streams by name.
    const monitored = buildVariant('oss', { monitoring: { enabled: true } });
    const workload = ['StatefulSet', 'Deployment']
      .map((kind) => objectsOfKind(monitored, kind).find((object) => object.metadata.name === 'redis-messaging'))
      .find(Boolean) as KubernetesObject;
    const sidecar = ((workload.spec as Spec).template.spec.containers as Container[]).find((container) => container.name === 'metrics');
    expect(sidecar, 'the metrics sidecar of redis-messaging').toBeDefined();
    const password = randomUUID().replace(/-/g, '');
    const rule = metricsAclLine('HASH')
      .replace(/^user metrics on #\$HASH /, '')
      .split(' ');
    const setUser = run('redis-cli', [
      '-p',
      String(redisPort),
      '-a',
      PASSWORDS.redis,
      '--no-auth-warning',
      'ACL',
      'SETUSER',
      METRICS_USER,
      'on',
      `>${password}`,
      ...rule,
    ]);
    expect(setUser.stdout.trim(), setUser.stderr).toBe('OK');
    const address = `redis://127.0.0.1:${redisPort}`;
    const passwordFile = path.join(folder(), 'metrics-password.json');
    fs.writeFileSync(passwordFile, JSON.stringify({ [`redis://${METRICS_USER}@127.0.0.1:${redisPort}`]: password }));
    const listen = await freePort();
    const env = containerEnvironment(
      (sidecar as Container).env,
      {},
      {
        REDIS_ADDR: address,
        REDIS_PASSWORD_FILE: passwordFile,
        REDIS_EXPORTER_WEB_LISTEN_ADDRESS: `127.0.0.1:${listen}`,
      },
    );
    const exporter = scratch.start(toolPath('redis_exporter'), [], { PATH: '/usr/bin:/bin', ...Object.fromEntries(env) });
    const text = await scrapeWhen(
      scratch,
      exporter,
      `http://127.0.0.1:${listen}/metrics`,
      'redis_exporter of redis-messaging',
      20,
      (metrics) => /^redis_up 1$/m.test(metrics) && /^redis_stream_group_lag\{/m.test(metrics),
    );
    const backlog = (findObject(rendered, 'ScaledObject', 'background', 'prefect').spec as { triggers: Spec[] }).triggers
      .filter((trigger) => trigger.type === 'redis-streams')
      .map((trigger) => trigger.metadata as { stream: string; consumerGroup: string });
    expect(backlog.length).toBeGreaterThan(0);
    for (const { stream, consumerGroup } of backlog)
      expect(text, `${stream}/${consumerGroup}`).toMatch(
        new RegExp(`^redis_stream_group_lag\\{db="db0",group="${consumerGroup}",stream="${stream}"\\} \\d+$`, 'm'),
      );
    // By name: no scan over the broker's other keys, nothing refused.
    expect(scratch.log(exporter)).not.toMatch(/WRONGTYPE|NOPERM|no permissions/i);
    expect(text).toMatch(/^redis_exporter_last_scrape_error\{err=""\} 0$/m);
  });

  it('serves Prometheus metrics behind the same credentials', async () => {
    const metrics = await request('GET', '/api/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/^# HELP /m);
    expect((await request('GET', '/api/metrics', undefined, null)).status).toBe(401);
  });

  it('writes nothing into its own package (the pods root filesystem is read-only)', () => {
    expect(packageFiles()).toEqual(packageBefore);
  });
});
