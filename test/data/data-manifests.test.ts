import * as yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { databasesOf, redisInstancesOf } from '../../lib/catalog/services';
import type { DataChart } from '../../lib/charts/data-chart';
import type { EnvironmentConfig } from '../../lib/config/load';
import { contentHash } from '../../lib/core/content-hash';
import { RecordingDataClient } from '../../lib/core/data-client';
import { renderEnvironment, type KubernetesObject, type RenderedEnvironment } from '../../lib/output/render';
import { connectionBudget } from '../../lib/data/postgres/postgres-config';
import { METRICS_IDENT_MAP, METRICS_ROLE } from '../../lib/data/postgres/postgres-exporter';
import { PRIORITY_CLASS } from '../../lib/platform/priority-classes';
import { PrefectApp } from '../../lib/app/prefect-app';
import { SECRET_CATALOG } from '../../lib/catalog/secrets';
import { kubectlCommands } from '../../lib/data/secrets/secrets';
import { resolveCatalog } from '../../lib/prefect/service-catalog';
import { build, ENVIRONMENTS, findObject, loadEnvironment, objectsOfKind } from '../helpers';
import { secretReferences } from '../secret-references';

/** The Customer-Managed environments' databases, which these tests build. */
const DATABASES = databasesOf('customer-managed') as ReadonlyArray<'events' | 'nebula' | 'orion'>;
/** The Customer-Managed environments' Redis instances, which these tests build. */
const REDIS_INSTANCES = redisInstancesOf('customer-managed') as ReadonlyArray<'cache' | 'work' | 'streams'>;

/*
 * The data layer's manifests, by kind and name: every prop reaching the object, the relation
 * API (environment, both sides' policies, duplicates), the Secrets' names and keys.
 */

const NS = 'prefect-data';

interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }>;
  securityContext: Record<string, unknown>;
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
  readinessProbe?: { exec: { command: string[] } };
  livenessProbe?: { exec: { command: string[] } };
  startupProbe?: { exec: { command: string[] } };
  lifecycle?: { preStop?: { exec: { command: string[] } } };
}
interface PodTemplate {
  metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    serviceAccountName: string;
    priorityClassName?: string;
    automountServiceAccountToken: boolean;
    securityContext: Record<string, unknown>;
    terminationGracePeriodSeconds?: number;
    initContainers?: Container[];
    containers: Container[];
    volumes: Array<{
      name: string;
      emptyDir?: { medium?: string };
      configMap?: { name: string };
      secret?: { secretName: string; items?: Array<{ key: string }> };
    }>;
  };
}
const templateOf = (object: KubernetesObject) => (object.spec as { template: PodTemplate }).template;
const dataOf = (object: KubernetesObject) => (object as KubernetesObject & { data: Record<string, string> }).data;

/** An environment's app, with the data chart to call relations on before rendering. */
function app(config: EnvironmentConfig): { app: PrefectApp; data: DataChart; render: () => RenderedEnvironment } {
  const prefectApp = new PrefectApp(config);
  // By layer: cdk8s makes every Chart `instanceof` every chart class.
  const data = prefectApp.layers.find((chart) => chart.layer === 'data') as DataChart;
  return { app: prefectApp, data, render: () => renderEnvironment(prefectApp, `config/${config.environment}.yaml`) };
}

function client(name: string, namespace = 'prefect'): RecordingDataClient {
  return new RecordingDataClient(name, namespace, { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': 'prefect-dev' }, name);
}

describe('PostgreSQL (StatefulSet)', () => {
  const prod = build('prod');
  const statefulSet = findObject(prod, 'StatefulSet', 'postgres', NS);
  const spec = statefulSet.spec as Record<string, unknown>;
  const template = templateOf(statefulSet);
  const container = template.spec.containers[0] as Container;

  it('runs the official image at the configured full version, as uid/gid 999, read-only, every capability dropped', () => {
    expect(container.image).toBe('docker.io/library/postgres:17.6');
    expect(template.spec.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 999,
      runAsGroup: 999,
      fsGroup: 999,
      fsGroupChangePolicy: 'OnRootMismatch',
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(template.spec.automountServiceAccountToken).toBe(false);
    expect(template.spec.serviceAccountName).toBe('postgres');
  });

  it('mounts writable volumes exactly where PostgreSQL writes, with PGDATA inside the volume', () => {
    const mounts = Object.fromEntries((container.volumeMounts ?? []).map((mount) => [mount.mountPath, mount.name]));
    expect(mounts).toMatchObject({
      '/var/lib/postgresql/data': 'data',
      '/var/run/postgresql': 'run',
      '/tmp': 'tmp',
      '/dev/shm': 'shm',
      '/etc/postgresql': 'config',
    });
    expect(container.env?.find((variable) => variable.name === 'PGDATA')?.value).toBe('/var/lib/postgresql/data/pgdata');
    expect(template.spec.volumes.find((volume) => volume.name === 'shm')?.emptyDir?.medium).toBe('Memory');
  });

  it('replaces a crash-looping pod (Parallel: OrderedReady waits for it to become ready first)', () => {
    expect(spec.podManagementPolicy).toBe('Parallel');
  });

  it('claims the configured volume, keeps it when the StatefulSet goes, and Flux never prunes it', () => {
    expect(spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
    const claims = spec.volumeClaimTemplates as Array<{
      metadata: { name: string; labels: Record<string, string>; annotations: Record<string, string> };
      spec: Record<string, unknown>;
    }>;
    expect(claims).toHaveLength(1);
    expect(claims[0]?.metadata.annotations['kustomize.toolkit.fluxcd.io/prune']).toBe('disabled');
    // Immutable: a version there would make every version bump a refused update.
    expect(Object.keys(claims[0]?.metadata.labels ?? {})).toContain('app.kubernetes.io/name');
    expect(Object.keys(claims[0]?.metadata.labels ?? {})).not.toContain('app.kubernetes.io/version');
    expect(claims[0]?.spec).toMatchObject({
      accessModes: ['ReadWriteOnce'],
      storageClassName: 'gp3',
      resources: { requests: { storage: '100Gi' } },
    });
    // No storage class configured: the cluster's default.
    const dev = findObject(build('dev'), 'StatefulSet', 'postgres', NS);
    expect(
      (dev.spec as { volumeClaimTemplates: Array<{ spec: Record<string, unknown> }> }).volumeClaimTemplates[0]?.spec.storageClassName,
    ).toBeUndefined();
  });

  it('sets the configured resources, with a memory limit', () => {
    expect(container.resources).toEqual({ requests: { cpu: '4', memory: '8Gi' }, limits: { memory: '8Gi' } });
  });

  it("derives postgresql.conf from memory, CPU, disk and the services' pools, and rolls the pod when it changes", () => {
    const conf = dataOf(findObject(prod, 'ConfigMap', 'postgres-config', NS))['postgresql.conf'] as string;
    const setting = (name: string) => new RegExp(`^${name} = (.*)$`, 'm').exec(conf)?.[1];
    const budget = connectionBudget(resolveCatalog(loadEnvironment('prod')), loadEnvironment('prod').postgres.pool);
    expect(setting('max_connections')).toBe(String(budget));
    // 41 process-databases at the services' maximum scale (prefect.maxReplicas 4) × (5 + 10),
    // 3 × (1 + 15) for the Jobs, 20 reserved: 683, rounded up to 690.
    expect(budget).toBe(690);
    expect(setting('work_mem')).toBe('2MB');
    expect(setting('shared_buffers')).toBe('2048MB');
    expect(setting('effective_cache_size')).toBe('6144MB');
    expect(setting('maintenance_work_mem')).toBe('512MB');
    expect(setting('max_wal_size')).toBe('10240MB');
    expect(setting('max_parallel_workers')).toBe('4');
    expect(setting('password_encryption')).toBe("'scram-sha-256'");
    expect(setting('shared_preload_libraries')).toBe("'pg_stat_statements,auto_explain'");
    expect(setting('auto_explain.log_min_duration')).toBe('1000');
    expect(setting('autovacuum_vacuum_scale_factor')).toBe('0.1');
    expect(template.metadata.annotations?.['prefect-cdk8s.io/config-checksum']).toBe(
      contentHash(dataOf(findObject(prod, 'ConfigMap', 'postgres-config', NS))),
    );
    // More memory: a different file, a different checksum, a new pod.
    const bigger = loadEnvironment('prod');
    const changed = app({
      ...bigger,
      postgres: { ...bigger.postgres, resources: { requests: { cpu: '4', memory: '16Gi' }, limits: { memory: '16Gi' } } },
    }).render();
    const changedTemplate = templateOf(findObject(changed, 'StatefulSet', 'postgres', NS));
    expect(changedTemplate.metadata.annotations?.['prefect-cdk8s.io/config-checksum']).not.toBe(
      template.metadata.annotations?.['prefect-cdk8s.io/config-checksum'],
    );
    expect(dataOf(findObject(changed, 'ConfigMap', 'postgres-config', NS))['postgresql.conf']).toContain('shared_buffers = 4096MB');
  });

  it("sizes max_connections for each process's pool and overflow at the services' maximum scale, the Jobs and a reserve", () => {
    const services = [{ maxReplicas: 2, databases: ['orion', 'events'] as const }];
    // 2 replicas × 2 databases × (5 + 10), 3 databases × (1 init session + 15 for the migration), 20 reserved.
    expect(connectionBudget(services)).toBe(Math.ceil((60 + 48 + 20) / 10) * 10);
    expect(connectionBudget(services, { size: 5, maxOverflow: 0 })).toBe(Math.ceil((20 + 18 + 20) / 10) * 10);
    // postgres.pool reaches postgresql.conf.
    const config = loadEnvironment('dev');
    const pool = { size: 2, maxOverflow: 3 };
    const rendered = app({ ...config, postgres: { ...config.postgres, pool } }).render();
    const expected = connectionBudget(resolveCatalog(config), pool);
    expect(expected).toBeLessThan(connectionBudget(resolveCatalog(config)));
    expect(dataOf(findObject(rendered, 'ConfigMap', 'postgres-config', NS))['postgresql.conf']).toMatch(
      new RegExp(`^max_connections = ${expected}$`, 'm'),
    );
  });

  it('fails when the memory limit cannot give every connection 1 MB of work_mem, naming the memory needed', () => {
    const config = loadEnvironment('dev');
    expect(() =>
      app({
        ...config,
        postgres: { ...config.postgres, resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '1Gi' } } },
      }),
    ).toThrow(
      /^postgres\.resources\.limits\.memory: expected at least 1560Mi: 1Gi of memory leaves work_mem 0\.66 MB for max_connections 390, below 1 MB/,
    );
  });

  it("runs in the data tier's priority class", () => {
    expect(template.spec.priorityClassName).toBe(PRIORITY_CLASS.data);
  });

  it('does not restart on a secrets.revision bump (it reads no Secret after initdb)', () => {
    const config = loadEnvironment('prod');
    const bumped = app({ ...config, secrets: { ...config.secrets, revision: '2' } }).render();
    expect(templateOf(findObject(bumped, 'StatefulSet', 'postgres', NS))).toEqual(template);
  });

  it('takes max_connections from the configuration when given', () => {
    const config = loadEnvironment('dev');
    const rendered = app({ ...config, postgres: { ...config.postgres, maxConnections: 120 } }).render();
    expect(dataOf(findObject(rendered, 'ConfigMap', 'postgres-config', NS))['postgresql.conf']).toMatch(/^max_connections = 120$/m);
  });

  it('allows SCRAM only in pg_hba.conf, and each role only in its own database', () => {
    const hba = dataOf(findObject(prod, 'ConfigMap', 'postgres-config', NS))['pg_hba.conf'] as string;
    const all = hba.split('\n').filter((line) => line && !line.startsWith('#'));
    // The one exception (monitoring.enabled): the exporter's role by peer over the pod's socket,
    // and never over TCP (test/data/postgres/postgres-exporter.test.ts logs in both ways).
    expect(all.slice(0, 2)).toEqual([`local all ${METRICS_ROLE} peer map=${METRICS_IDENT_MAP}`, `host all ${METRICS_ROLE} all reject`]);
    const rules = all.slice(2);
    for (const rule of rules) expect(rule).toMatch(/ (scram-sha-256|reject)$/);
    expect(rules.join('\n')).not.toMatch(/\b(trust|md5|password|ident|peer)\b/);
    expect(dataOf(findObject(build('dev'), 'ConfigMap', 'postgres-config', NS))['pg_hba.conf']).not.toMatch(
      /\b(trust|md5|password|ident|peer)\b/,
    );
    expect(rules).toContain('host sameuser events,nebula,orion all scram-sha-256');
    expect(rules.indexOf('host all events,nebula,orion all reject')).toBeLessThan(rules.indexOf('host all all all scram-sha-256'));
  });

  it('probes with pg_isready over TCP and shuts down fast within a generous grace period', () => {
    for (const probe of [container.readinessProbe, container.livenessProbe, container.startupProbe]) {
      expect(probe?.exec.command.slice(0, 2)).toEqual(['pg_isready', '--host=127.0.0.1']);
    }
    expect(template.spec.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(120);
    expect(container.lifecycle?.preStop?.exec.command).toEqual(expect.arrayContaining(['pg_ctl', 'stop', '--mode=fast']));
  });

  it('has a headless Service for the StatefulSet and a client Service, both on 5432', () => {
    const headless = findObject(prod, 'Service', 'postgres-headless', NS).spec as Record<string, unknown>;
    const client = findObject(prod, 'Service', 'postgres', NS).spec as Record<string, unknown>;
    expect(headless.clusterIP).toBe('None');
    expect(spec.serviceName).toBe('postgres-headless');
    for (const service of [headless, client])
      expect(service.ports).toEqual([{ name: 'tcp-postgres', port: 5432, targetPort: 'postgres', protocol: 'TCP', appProtocol: 'tcp' }]);
  });

  it("puts PostgreSQL 18 and later in the image's new data directory", () => {
    const config = loadEnvironment('dev');
    const rendered = app({ ...config, postgres: { ...config.postgres, version: '18.1' } }).render();
    const next = templateOf(findObject(rendered, 'StatefulSet', 'postgres', NS)).spec.containers[0] as Container;
    expect(next.env?.find((variable) => variable.name === 'PGDATA')?.value).toBe('/var/lib/postgresql/18/docker');
    expect(next.volumeMounts?.find((mount) => mount.name === 'data')?.mountPath).toBe('/var/lib/postgresql');
  });
});

/** The data layer's init Jobs (the migrations layer has Jobs of its own). */
const initJobs = (rendered: RenderedEnvironment) =>
  objectsOfKind(rendered, 'Job').filter((job) => job.metadata.name.startsWith('postgres-init-'));

describe('init Jobs', () => {
  const dev = build('dev');
  const jobs = initJobs(dev);

  it('are one per database, named after a hash of the whole pod template', () => {
    expect(jobs.map((job) => job.metadata.name.replace(/-[0-9a-f]{10}$/, '')).sort()).toEqual(
      DATABASES.map((database) => `postgres-init-${database}`),
    );
    for (const job of jobs) {
      // The template exactly as the manifest has it: anyone can recompute the name.
      const hash = contentHash(yamlRoundTrip(templateOf(job)), 10);
      expect(job.metadata.name.endsWith(`-${hash}`), job.metadata.name).toBe(true);
    }
  });

  it('get a new name when the pod template changes, and keep it otherwise', () => {
    const config = loadEnvironment('dev');
    const again = app(config).render();
    expect(
      initJobs(again)
        .map((job) => job.metadata.name)
        .sort(),
    ).toEqual(jobs.map((job) => job.metadata.name).sort());
    const upgraded = app({ ...config, postgres: { ...config.postgres, version: '17.7' } }).render();
    for (const job of initJobs(upgraded)) expect(jobs.map((old) => old.metadata.name)).not.toContain(job.metadata.name);
  });

  it('are replaced by Flux, have no TTL and say why, and run to completion under STRICT mTLS with a native sidecar', () => {
    for (const job of jobs) {
      const spec = job.spec as Record<string, unknown>;
      expect(job.metadata.annotations?.['kustomize.toolkit.fluxcd.io/force']).toBe('enabled');
      expect(spec.ttlSecondsAfterFinished).toBeUndefined();
      expect(job.metadata.annotations?.['ignore-check.kube-linter.io/job-ttl-seconds-after-finished']).toMatch(/Flux/);
      const template = templateOf(job);
      expect(template.metadata.annotations?.['sidecar.istio.io/nativeSidecar']).toBe('true');
      // In the mesh: no opt-out, so the server sees the Job's own identity.
      expect(template.metadata.labels['sidecar.istio.io/inject']).toBeUndefined();
      expect(template.spec.serviceAccountName).toBe(job.metadata.name.replace(/-[0-9a-f]{10}$/, ''));
      expect(template.spec.automountServiceAccountToken).toBe(false);
    }
  });

  it("are admitted by the server's policies (mesh identity and pods) and may reach only it", () => {
    const authorization = findObject(dev, 'AuthorizationPolicy', 'postgres', NS).spec as {
      rules: Array<{ from: Array<{ source: { principals: string[] } }>; to: Array<{ operation: { ports: string[] } }> }>;
    };
    expect(authorization.rules[0]?.from[0]?.source.principals).toEqual(
      expect.arrayContaining(DATABASES.map((database) => `cluster.local/ns/${NS}/sa/postgres-init-${database}`)),
    );
    expect(authorization.rules[0]?.to[0]?.operation.ports).toEqual(['5432']);
    for (const database of DATABASES) {
      const policy = findObject(dev, 'NetworkPolicy', `postgres-init-${database}`, NS).spec as {
        policyTypes: string[];
        ingress?: unknown[];
        egress: Array<{ to?: unknown[]; ports: Array<{ port: number }> }>;
      };
      expect(policy.policyTypes).toEqual(['Ingress', 'Egress']);
      expect(policy.ingress ?? []).toEqual([]);
      expect(policy.egress.map((rule) => rule.ports.map((port) => port.port).join(','))).toEqual(['53,53', '15012', '5432']);
    }
  });

  it('get a new name on a secrets.revision bump, so that they run again and set the rotated passwords', () => {
    const config = loadEnvironment('dev');
    const bumped = initJobs(app({ ...config, secrets: { ...config.secrets, revision: '2' } }).render());
    expect(bumped).toHaveLength(3);
    for (const job of bumped) {
      expect(jobs.map((old) => old.metadata.name)).not.toContain(job.metadata.name);
      expect(templateOf(job).metadata.annotations?.['prefect-cdk8s.io/secrets-revision']).toBe('2');
    }
    for (const job of jobs) expect(templateOf(job).metadata.annotations?.['prefect-cdk8s.io/secrets-revision']).toBe('1');
  });

  it('give each role what the services need on what the migrations create, and nothing it could own (the SQL runs in test/postgres.test.ts)', () => {
    for (const job of jobs) {
      const script = (templateOf(job).spec.containers[0]?.command ?? []).join(' ');
      expect(script).toContain(
        'ALTER DEFAULT PRIVILEGES FOR ROLE CURRENT_USER IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"role";',
      );
      expect(script).toContain(
        'ALTER DEFAULT PRIVILEGES FOR ROLE CURRENT_USER IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO :"role";',
      );
      expect(script).toContain('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"role";');
      expect(script).toContain('ALTER SCHEMA public OWNER TO %I');
      expect(script).not.toMatch(/TRUNCATE|REFERENCES|TRIGGER|GRANT ALL/);
    }
  });

  it("get the superuser and their database's role from Secrets, never a value", () => {
    for (const job of jobs) {
      const env = templateOf(job).spec.containers[0]?.env ?? [];
      const database = job.metadata.name.split('-')[2] as string;
      const prefix = `${database.toUpperCase()}_DATABASE`;
      expect(env.find((variable) => variable.name === 'POSTGRES_SUPERUSER_PASSWORD')?.valueFrom?.secretKeyRef).toEqual({
        name: 'prefect-postgres-superuser',
        key: 'password',
      });
      expect(env.find((variable) => variable.name === `${prefix}_PASSWORD`)?.valueFrom?.secretKeyRef).toEqual({
        name: `prefect-postgres-${database}`,
        key: 'password',
      });
      expect(env.filter((variable) => /PASSWORD/.test(variable.name) && variable.value !== undefined)).toEqual([]);
    }
  });
});

describe('Redis', () => {
  const prod = build('prod');

  it('runs the cache as a Deployment without a volume, work and streams as StatefulSets with retained volumes', () => {
    const cache = findObject(prod, 'Deployment', 'redis-cache', NS);
    expect(templateOf(cache).spec.volumes.find((volume) => volume.name === 'data')?.emptyDir).toEqual({ sizeLimit: '64Mi' });
    for (const name of ['redis-work', 'redis-streams']) {
      const spec = findObject(prod, 'StatefulSet', name, NS).spec as Record<string, unknown>;
      expect(spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
      expect(spec.podManagementPolicy).toBe('Parallel');
      expect(spec.serviceName).toBe(`${name}-headless`);
      const claim = (
        spec.volumeClaimTemplates as Array<{ metadata: { annotations: Record<string, string> }; spec: Record<string, unknown> }>
      )[0];
      expect(claim?.metadata.annotations['kustomize.toolkit.fluxcd.io/prune']).toBe('disabled');
      expect(claim?.spec).toMatchObject({ storageClassName: 'gp3', resources: { requests: { storage: '20Gi' } } });
    }
  });

  it('pins the official Redis 7 image and runs it non-root, read-only, with an ACL init step', () => {
    for (const name of REDIS_INSTANCES) {
      const workload = findObject(prod, name === 'cache' ? 'Deployment' : 'StatefulSet', `redis-${name}`, NS);
      const template = templateOf(workload);
      // Beside redis-server, the exporter (monitoring.enabled: test/data/redis/redis.test.ts runs it).
      expect(template.spec.containers.map((container) => container.name)).toEqual(['redis', 'metrics']);
      for (const container of [...(template.spec.initContainers ?? []), ...template.spec.containers]) {
        if (container.name !== 'metrics') expect(container.image).toBe('docker.io/library/redis:7.4.6');
        expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsUser: 999, allowPrivilegeEscalation: false });
      }
      expect(template.spec.initContainers?.map((container) => container.name)).toEqual(['acl']);
      expect(template.spec.containers[0]?.command).toEqual(['redis-server', '/etc/redis/redis.conf']);
      // The password is read from the Secret's files, never put in the environment or arguments.
      expect(JSON.stringify(template.spec.containers[0]?.env)).not.toMatch(/secretKeyRef/);
      expect(template.spec.volumes.find((volume) => volume.name === 'secret')?.secret).toMatchObject({
        secretName: `prefect-redis-${name}`,
      });
      expect(template.spec.volumes.find((volume) => volume.name === 'acl')?.emptyDir?.medium).toBe('Memory');
      expect(template.metadata.annotations?.['prefect-cdk8s.io/config-checksum']).toBe(
        contentHash(dataOf(findObject(prod, 'ConfigMap', `redis-${name}-config`, NS))['redis.conf']),
      );
    }
  });

  it("run in the data tier's priority class, and restart on a secrets.revision bump (the ACL is written from the Secret at start)", () => {
    const config = loadEnvironment('prod');
    const bumped = app({ ...config, secrets: { ...config.secrets, revision: 'rotated-2026-08' } }).render();
    for (const name of REDIS_INSTANCES) {
      const kind = name === 'cache' ? 'Deployment' : 'StatefulSet';
      const before = templateOf(findObject(prod, kind, `redis-${name}`, NS));
      const after = templateOf(findObject(bumped, kind, `redis-${name}`, NS));
      expect(before.spec.priorityClassName).toBe(PRIORITY_CLASS.data);
      expect(before.metadata.annotations?.['prefect-cdk8s.io/secrets-revision']).toBe('1');
      expect(after.metadata.annotations?.['prefect-cdk8s.io/secrets-revision']).toBe('rotated-2026-08');
      // The probes use the password the server started with, not the Secret's live file.
      expect(before.spec.containers[0]?.env).toContainEqual({ name: 'REDIS_PROBE_PASSWORD_FILE', value: '/run/redis/probe-password' });
    }
  });

  it('derives maxmemory from the configured memory, under a memory limit with headroom', () => {
    const config = loadEnvironment('prod');
    for (const name of REDIS_INSTANCES) {
      const conf = dataOf(findObject(prod, 'ConfigMap', `redis-${name}-config`, NS))['redis.conf'] as string;
      const memory = { cache: 2 * 2 ** 30, work: 2 * 2 ** 30, streams: 4 * 2 ** 30 }[name];
      expect(conf).toMatch(new RegExp(`^maxmemory ${memory}$`, 'm'));
      const workload = findObject(prod, name === 'cache' ? 'Deployment' : 'StatefulSet', `redis-${name}`, NS);
      expect(templateOf(workload).spec.containers[0]?.resources.limits.memory).toBe(config.redis[name].resources?.limits?.memory);
    }
  });

  it("defaults to Prefect's published minimums: 1 CPU, and the memory plus a quarter as request and limit", () => {
    const config = loadEnvironment('dev');
    const defaults = {
      ...config,
      redis: {
        ...config.redis,
        cache: { ...config.redis.cache, memory: '2Gi', resources: undefined },
        work: { ...config.redis.work, memory: '2Gi', resources: undefined },
        streams: { ...config.redis.streams, memory: '4Gi', resources: undefined },
      },
    };
    const rendered = app(defaults).render();
    expect(templateOf(findObject(rendered, 'Deployment', 'redis-cache', NS)).spec.containers[0]?.resources).toEqual({
      requests: { cpu: '1', memory: '2560Mi' },
      limits: { memory: '2560Mi' },
    });
    expect(templateOf(findObject(rendered, 'StatefulSet', 'redis-streams', NS)).spec.containers[0]?.resources).toEqual({
      requests: { cpu: '1', memory: '5Gi' },
      limits: { memory: '5Gi' },
    });
  });
});

describe('relations', () => {
  it("grantDatabase: the env of one database, composed in the pod, and both sides' policies opened lazily", () => {
    const { data, render } = app(loadEnvironment('dev'));
    const nebula = client('nebula');
    data.postgres.grantDatabase(nebula, 'nebula');
    expect([...nebula.env.keys()]).toEqual([
      'NEBULA_DATABASE_HOST',
      'NEBULA_DATABASE_PORT',
      'NEBULA_DATABASE_NAME',
      'NEBULA_DATABASE_USER',
      'NEBULA_DATABASE_PASSWORD',
      'NEBULA_DATABASE_SSLMODE',
      'NEBULA_DATABASE_URL',
    ]);
    expect(nebula.env.get('NEBULA_DATABASE_HOST')).toEqual({ value: 'postgres.prefect-data.svc' });
    expect(nebula.env.get('NEBULA_DATABASE_USER')).toEqual({ value: 'nebula' });
    expect(nebula.env.get('NEBULA_DATABASE_PASSWORD')).toEqual({ secretKeyRef: { name: 'prefect-postgres-nebula', key: 'password' } });
    expect(nebula.env.get('NEBULA_DATABASE_URL')).toEqual({
      value:
        'postgresql+asyncpg://$(NEBULA_DATABASE_USER):$(NEBULA_DATABASE_PASSWORD)@$(NEBULA_DATABASE_HOST):$(NEBULA_DATABASE_PORT)/$(NEBULA_DATABASE_NAME)',
    });
    expect(nebula.egress).toEqual([
      {
        purpose: 'postgres',
        namespace: NS,
        podSelector: { 'app.kubernetes.io/name': 'postgres', 'app.kubernetes.io/instance': 'prefect-dev' },
        port: 5432,
      },
    ]);
    const rendered = render();
    const principals = (
      findObject(rendered, 'AuthorizationPolicy', 'postgres', NS).spec as {
        rules: Array<{ from: Array<{ source: { principals: string[] } }> }>;
      }
    ).rules[0]?.from[0]?.source.principals;
    expect(principals).toContain('cluster.local/ns/prefect/sa/nebula');
    const ingress = (findObject(rendered, 'NetworkPolicy', 'postgres', NS).spec as { ingress: unknown[] }).ingress;
    expect(ingress).toContainEqual({
      from: [
        {
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'prefect' } },
          podSelector: { matchLabels: nebula.selectorLabels },
        },
      ],
      ports: [{ protocol: 'TCP', port: 5432 }],
    });
  });

  it("grantSuperuser: the superuser Secret's username and password", () => {
    const { data } = app(loadEnvironment('dev'));
    const migrate = client('migrate-orion');
    data.postgres.grantSuperuser(migrate);
    data.postgres.grantDatabase(migrate, 'orion');
    expect(migrate.env.get('POSTGRES_SUPERUSER_USER')).toEqual({ secretKeyRef: { name: 'prefect-postgres-superuser', key: 'username' } });
    expect(migrate.env.get('POSTGRES_SUPERUSER_PASSWORD')).toEqual({
      secretKeyRef: { name: 'prefect-postgres-superuser', key: 'password' },
    });
  });

  it('throws on a duplicate environment variable (the same database granted twice)', () => {
    const { data } = app(loadEnvironment('dev'));
    const server = client('server');
    data.postgres.grantDatabase(server, 'orion');
    expect(() => data.postgres.grantDatabase(server, 'orion')).toThrow(/ORION_DATABASE_HOST is set twice/);
    data.redis.cache.allowFrom(server);
    expect(() => data.redis.cache.allowFrom(server)).toThrow(/REDIS_CACHE_HOST is set twice/);
  });

  it("allowFrom: the instance's env and URL, and its policies opened", () => {
    // Without the services that use Redis "work", to see an instance nobody uses (the role it
    // holds by default, concurrency leases, moved to "streams").
    const loaded = loadEnvironment('dev');
    const config = { ...loaded, redis: { ...loaded.redis, roles: { 'concurrency-leases': 'streams' as const } } };
    const withoutWork = Object.fromEntries(
      resolveCatalog(config)
        .filter((service) => service.redis.includes('work'))
        .map((service) => [
          service.name,
          service.type === 'web' ? { redis: service.redis.filter((instance) => instance !== 'work') } : { enabled: false },
        ]),
    );
    const { data, render } = app({ ...config, prefect: { ...config.prefect, services: { ...config.prefect.services, ...withoutWork } } });
    const events = client('events');
    data.redis.streams.allowFrom(events);
    expect([...events.env.keys()]).toEqual(['REDIS_STREAMS_HOST', 'REDIS_STREAMS_PORT', 'REDIS_STREAMS_PASSWORD', 'REDIS_STREAMS_URL']);
    expect(events.env.get('REDIS_STREAMS_PASSWORD')).toEqual({ secretKeyRef: { name: 'prefect-redis-streams', key: 'password' } });
    expect(events.env.get('REDIS_STREAMS_URL')).toEqual({
      value: 'redis://:$(REDIS_STREAMS_PASSWORD)@$(REDIS_STREAMS_HOST):$(REDIS_STREAMS_PORT)/0',
    });
    const rendered = render();
    const authorization = findObject(rendered, 'AuthorizationPolicy', 'redis-streams', NS).spec as {
      rules: Array<{ from: Array<{ source: { principals: string[] } }>; to: Array<{ operation: { ports: string[] } }> }>;
    };
    expect(authorization.rules).toHaveLength(1);
    expect(authorization.rules[0]?.from[0]?.source.principals).toContain('cluster.local/ns/prefect/sa/events');
    expect(authorization.rules[0]?.to).toEqual([{ operation: { ports: ['6379'] } }]);
    // An instance nobody uses admits nobody.
    expect((findObject(rendered, 'AuthorizationPolicy', 'redis-work', NS).spec as { rules?: unknown[] }).rules ?? []).toEqual([]);
    expect((findObject(rendered, 'NetworkPolicy', 'redis-work', NS).spec as { ingress?: unknown[] }).ingress ?? []).toEqual([]);
  });
});

describe('Secrets', () => {
  it.each(ENVIRONMENTS)('%s: no Secret object, and every reference names a Secret and key of the catalog', (environment) => {
    const rendered = build(environment);
    expect(objectsOfKind(rendered, 'Secret')).toEqual([]);
    const references = secretReferences(rendered.objects.map(({ object }) => object));
    expect(references.length).toBeGreaterThan(0);
    for (const { name, key } of references) {
      const entry = Object.values(SECRET_CATALOG).find((definition) => `prefect-${definition.id}` === name);
      if (entry === undefined) throw new Error(`Secret ${name} is read but not in the secret catalog`);
      if (key !== undefined) expect(entry.keys, `Secret ${name} key ${key}`).toContain(key);
    }
  });

  it('uses configured names', () => {
    const config = loadEnvironment('dev');
    const rendered = app({
      ...config,
      secrets: { provider: 'existing', revision: '1', names: { 'postgres-superuser': 'pg-admin', 'redis-cache': 'cache-auth' } },
    }).render();
    const names = new Set(secretReferences(rendered.objects.map(({ object }) => object)).map((reference) => reference.name));
    expect(names).toContain('pg-admin');
    expect(names).toContain('cache-auth');
    expect(names).not.toContain('prefect-postgres-superuser');
  });

  it('lists the kubectl commands for exactly the Secrets read, in every namespace that reads them', () => {
    const { data, render } = app(loadEnvironment('dev'));
    data.postgres.grantDatabase(client('nebula'), 'nebula');
    render();
    const lines = kubectlCommands(data.secrets.all, { registry: 'registry.example.com/prefect' });
    expect(lines).toContain(
      'kubectl --namespace prefect create secret generic prefect-postgres-nebula --type=kubernetes.io/basic-auth --from-literal=username=nebula --from-literal=password="$POSTGRES_NEBULA_PASSWORD"',
    );
    expect(lines).toContain(
      'kubectl --namespace prefect-data create secret generic prefect-postgres-nebula --type=kubernetes.io/basic-auth --from-literal=username=nebula --from-literal=password="$POSTGRES_NEBULA_PASSWORD"',
    );
    // Every Secret read by a pod has its line, in each namespace where it is read.
    for (const use of data.secrets.all)
      expect(
        lines.some((line) => line.startsWith(`kubectl --namespace ${use.namespace} create secret `) && line.includes(` ${use.name} `)),
        `${use.namespace}/${use.name}`,
      ).toBe(true);
    // The image pull secret, from the catalog like the others: the services' namespace and the
    // data namespace (migration Jobs).
    for (const namespace of ['prefect', NS]) {
      expect(lines).toContain(
        `kubectl --namespace ${namespace} create secret docker-registry prefect-registry --docker-server=registry.example.com --docker-username=<user> --docker-password=<token>`,
      );
    }
    // The data namespace's Redis Secrets hold the admin password too; clients' never do.
    expect(lines).toContain(
      'kubectl --namespace prefect-data create secret generic prefect-redis-cache --type=Opaque --from-literal=password="$REDIS_CACHE_PASSWORD" --from-literal=admin-password="$REDIS_CACHE_ADMIN_PASSWORD"',
    );
  });
});

/** A template as read back from YAML (plain JSON, no class instances). */
function yamlRoundTrip(value: unknown): unknown {
  return yaml.load(yaml.dump(value));
}
