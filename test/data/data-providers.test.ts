import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { databasesOf } from '../../lib/catalog/services';
import type { DataChart } from '../../lib/charts/data-chart';
import { parseConfig } from '../../lib/config/load';
import { RecordingDataClient } from '../../lib/core/data-client';
import { renderEnvironment, type KubernetesObject, type RenderedEnvironment } from '../../lib/output/render';
import { PrefectApp } from '../../lib/app/prefect-app';
import { checkEnvironment } from '../../lib/app/synthesize';
import { SECRET_CATALOG } from '../../lib/catalog/secrets';
import { buildVariant, VARIANTS, variantText } from '../config-variants';
import { findObject, objectsOfKind, sharedValidator, writeRendered } from '../helpers';
import { toolPath } from '../real-tools/tools';
import { secretReferences } from '../secret-references';

/** The Customer-Managed environments' databases, which these tests build. */
const DATABASES = databasesOf('customer-managed') as ReadonlyArray<'events' | 'nebula' | 'orion'>;

/*
 * The providers beyond the default (CloudNativePG, external PostgreSQL and Redis, External
 * Secrets): each variant passes strict validation and `kubectl kustomize`, and its objects say
 * what the configuration asked for. Relations are exercised before rendering, as the prefect
 * layer will call them.
 */

const NS = 'prefect-data';

function variant(environment: string, changes: Record<string, unknown> | readonly Record<string, unknown>[]) {
  const config = parseConfig(variantText(environment, changes), `config/${environment}.yaml`, environment);
  const app = new PrefectApp(config);
  const data = app.layers.find((chart) => chart.layer === 'data') as DataChart;
  return { config, data, render: () => renderEnvironment(app, `config/${environment}.yaml`) };
}

function client(name: string): RecordingDataClient {
  return new RecordingDataClient(name, 'prefect', { 'app.kubernetes.io/name': name, 'app.kubernetes.io/instance': 'prefect-test' }, name);
}

/** Strict schemas, the label contract, the YAML reading check, and `kubectl kustomize` of each layer. */
function expectValid(rendered: RenderedEnvironment): void {
  expect(checkEnvironment(rendered, sharedValidator())).toEqual([]);
  const folder = writeRendered(rendered);
  try {
    for (const layer of ['platform', 'data']) {
      const built = yaml
        .loadAll(execFileSync(toolPath('kubectl'), ['kustomize', path.join(folder, layer)], { encoding: 'utf8' }))
        .filter(Boolean);
      expect(built).toHaveLength(rendered.objects.filter((object) => object.layer === layer).length);
    }
  } finally {
    fs.rmSync(folder, { recursive: true, force: true });
  }
}

const specOf = <T = Record<string, unknown>>(object: KubernetesObject) => object.spec as T;
const names = (rendered: RenderedEnvironment, layer: string) =>
  rendered.objects
    .filter((object) => object.layer === layer)
    .map(({ object }) => `${object.kind} ${object.metadata.namespace ?? '-'}/${object.metadata.name}`);

describe('CloudNativePG', () => {
  const { data, render } = variant('prod', VARIANTS.cloudnativePg);
  const orion = client('server');
  data.postgres.grantDatabase(orion, 'orion');
  const rendered = render();
  const cluster = findObject(rendered, 'Cluster', 'postgres', NS);
  const spec = specOf<Record<string, any>>(cluster);

  it('passes strict validation and kubectl kustomize', () => expectValid(rendered));

  it('runs a Cluster of 3 instances spread over the zones, sized and tuned like the StatefulSet', () => {
    expect(spec.instances).toBe(3);
    expect(spec.imageName).toBe('ghcr.io/cloudnative-pg/postgresql:17.6');
    expect(spec.topologySpreadConstraints).toEqual([
      {
        maxSkew: 1,
        topologyKey: 'topology.kubernetes.io/zone',
        whenUnsatisfiable: 'DoNotSchedule',
        labelSelector: { matchLabels: { 'cnpg.io/cluster': 'postgres' } },
      },
    ]);
    expect(spec.storage).toEqual({ size: '100Gi', storageClass: 'gp3' });
    expect(spec.resources).toEqual({ requests: { cpu: '4', memory: '8Gi' }, limits: { memory: '8Gi' } });
    expect(spec.postgresql.parameters).toMatchObject({ shared_buffers: '2048MB', password_encryption: 'scram-sha-256', jit: 'off' });
    for (const managed of ['listen_addresses', 'port', 'ssl', 'hba_file', 'shared_preload_libraries'])
      expect(spec.postgresql.parameters[managed]).toBeUndefined();
    expect(spec.postgresql.pg_hba).toEqual([
      'hostssl sameuser events,nebula,orion all scram-sha-256',
      'host all events,nebula,orion all reject',
    ]);
    expect(spec.postgresql.shared_preload_libraries).toEqual(['pg_stat_statements', 'auto_explain']);
    expect(spec.postgresql.parameters).toMatchObject({
      'auto_explain.log_format': 'json',
      'auto_explain.log_min_duration': '1000',
      autovacuum_vacuum_scale_factor: '0.1',
    });
    expect(spec.inheritedMetadata.labels).toMatchObject({ 'app.kubernetes.io/name': 'postgres', 'sidecar.istio.io/inject': 'false' });
  });

  it('declares one login role per database from its Secret, and the superuser', () => {
    expect(spec.enableSuperuserAccess).toBe(true);
    expect(spec.superuserSecret).toEqual({ name: 'prefect-postgres-superuser' });
    expect(
      spec.managed.roles.map((role: { name: string; passwordSecret: { name: string }; login: boolean; superuser: boolean }) => [
        role.name,
        role.passwordSecret.name,
        role.login,
        role.superuser,
      ]),
    ).toEqual(DATABASES.map((database) => [database, `prefect-postgres-${database}`, true, false]));
  });

  it('declares the three databases with pg_trgm, never dropped with the resource; the init Jobs set only the privileges', () => {
    for (const database of DATABASES) {
      expect(specOf(findObject(rendered, 'Database', `postgres-${database}`, NS))).toMatchObject({
        cluster: { name: 'postgres' },
        name: database,
        // The superuser owns each database; the role only connects (the init Job's privileges).
        owner: 'postgres',
        ensure: 'present',
        databaseReclaimPolicy: 'retain',
        extensions: [{ name: 'pg_trgm', ensure: 'present', schema: 'public' }],
      });
    }
    expect(names(rendered, 'data').filter((name) => /StatefulSet .*\/postgres$/.test(name))).toEqual([]);
    // The operator declares roles and databases; a Job per database waits for it and sets what
    // the Database resource cannot: default privileges for the migrations' objects, CONNECT
    // revoked from PUBLIC (the SQL runs against a real server in test/postgres.test.ts).
    const jobs = objectsOfKind(rendered, 'Job').filter((job) => job.metadata.name.startsWith('postgres-init-'));
    expect(jobs.map((job) => job.metadata.name.replace(/-[0-9a-f]{10}$/, '')).sort()).toEqual(
      DATABASES.map((database) => `postgres-init-${database}`),
    );
    for (const job of jobs) {
      const script =
        specOf<{ template: { spec: { containers: Array<{ command: string[] }> } } }>(job).template.spec.containers[0]?.command.join(' ') ??
        '';
      expect(script).not.toMatch(/CREATE ROLE|CREATE DATABASE|ALTER ROLE/);
      expect(script).toContain('the operator did not create the database');
      expect(script).toContain(
        'ALTER DEFAULT PRIVILEGES FOR ROLE CURRENT_USER IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES',
      );
      expect(script).toContain('REVOKE ALL ON DATABASE :"database" FROM PUBLIC, :"role";');
    }
  });

  it("runs in the data tier's priority class, with 3 instances by default on a cluster with zones, 1 without", () => {
    expect(spec.priorityClassName).toBe('prefect-data');
    const instancesOf = (environment: string, changes: Record<string, unknown>) =>
      specOf<{ instances: number }>(findObject(variant(environment, changes).render(), 'Cluster', 'postgres', NS)).instances;
    expect(instancesOf('prod', { postgres: { provider: 'cloudnativepg', logicalBackup: null } })).toBe(3);
    // Two nodes in three zones: one instance per node.
    expect(instancesOf('prod', { postgres: { provider: 'cloudnativepg', logicalBackup: null }, cluster: { nodes: 2 } })).toBe(2);
    expect(instancesOf('dev', { postgres: { provider: 'cloudnativepg' } })).toBe(1);
    expect(instancesOf('prod', { postgres: { provider: 'cloudnativepg', logicalBackup: null, instances: 2 } })).toBe(2);
  });

  it('archives to the object store through the Barman Cloud plugin, and backs up on a schedule', () => {
    // CloudNativePG's own barmanObjectStore is deprecated since 1.26: the plugin archives the WAL.
    expect(spec.backup).toBeUndefined();
    expect(spec.plugins).toEqual([
      { name: 'barman-cloud.cloudnative-pg.io', isWALArchiver: true, parameters: { barmanObjectName: 'postgres' } },
    ]);
    expect(specOf(findObject(rendered, 'ObjectStore', 'postgres', NS))).toEqual({
      configuration: {
        destinationPath: 's3://prefect-backups/prod',
        endpointURL: 'https://s3.us-east-1.amazonaws.com',
        s3Credentials: {
          accessKeyId: { name: 'prefect-postgres-backup', key: 'ACCESS_KEY_ID' },
          secretAccessKey: { name: 'prefect-postgres-backup', key: 'ACCESS_SECRET_KEY' },
        },
        wal: { compression: 'gzip' },
        data: { compression: 'gzip' },
      },
      retentionPolicy: '30d',
      instanceSidecarConfiguration: { resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } } },
    });
    expect(specOf(findObject(rendered, 'ScheduledBackup', 'postgres', NS))).toEqual({
      cluster: { name: 'postgres' },
      schedule: '0 0 2 * * *',
      method: 'plugin',
      pluginConfiguration: { name: 'barman-cloud.cloudnative-pg.io' },
      immediate: true,
      backupOwnerReference: 'self',
    });
    // The plugin, installed beside the operator once the operator and cert-manager are.
    const plugin = specOf<{ chart: { spec: { chart: string; version: string } }; dependsOn: { name: string }[]; targetNamespace: string }>(
      findObject(rendered, 'HelmRelease', 'plugin-barman-cloud', 'flux-system'),
    );
    expect(plugin.chart.spec).toMatchObject({ chart: 'plugin-barman-cloud', version: '0.7.0' });
    expect(plugin.targetNamespace).toBe('cnpg-system');
    expect(plugin.dependsOn.map((release) => release.name)).toEqual(['cloudnative-pg', 'cert-manager']);
  });

  it('recovers a new cluster from the backups of another, to a point in time', () => {
    const recovering = variant('prod', VARIANTS.cloudnativePgRecovery).render();
    expectValid(recovering);
    const cluster = specOf<Record<string, unknown>>(findObject(recovering, 'Cluster', 'postgres', NS));
    expect(cluster.bootstrap).toEqual({
      recovery: {
        source: 'origin',
        database: 'orion',
        owner: 'orion',
        secret: { name: 'prefect-postgres-orion' },
        recoveryTarget: { targetTime: '2026-11-30T14:05:00Z' },
      },
    });
    expect(cluster.externalClusters).toEqual([
      {
        name: 'origin',
        plugin: { name: 'barman-cloud.cloudnative-pg.io', parameters: { barmanObjectName: 'postgres', serverName: 'postgres' } },
      },
    ]);
    // It archives under its own name, never over the backups it starts from.
    expect(cluster.plugins).toEqual([
      {
        name: 'barman-cloud.cloudnative-pg.io',
        isWALArchiver: true,
        parameters: { barmanObjectName: 'postgres', serverName: 'postgres-2' },
      },
    ]);
  });

  it('admits the clients, the other instances and the operator, and gives clients TLS to the primary', () => {
    const ingress = specOf<{
      ingress: Array<{
        from: Array<{ namespaceSelector: { matchLabels: Record<string, string> }; podSelector?: { matchLabels: Record<string, string> } }>;
        ports: Array<{ port: number }>;
      }>;
    }>(findObject(rendered, 'NetworkPolicy', 'postgres', NS)).ingress;
    const summary = ingress.map(
      (rule) =>
        `${rule.from[0]?.namespaceSelector.matchLabels['kubernetes.io/metadata.name']}/${JSON.stringify(rule.from[0]?.podSelector?.matchLabels ?? {})}:${rule.ports.map((port) => port.port).join(',')}`,
    );
    expect(summary.slice(0, 2)).toEqual(['cnpg-system/{}:8000', 'prefect-data/{"cnpg.io/cluster":"postgres"}:5432,8000']);
    expect(summary).toContain('prefect/{"app.kubernetes.io/instance":"prefect-test","app.kubernetes.io/name":"server"}:5432');
    // Nothing else: every other rule admits a client on 5432 only.
    for (const rule of summary.slice(2)) expect(rule).toMatch(/:5432$/);
    expect(orion.env.get('ORION_DATABASE_HOST')).toEqual({ value: 'postgres-rw.prefect-data.svc' });
    expect(orion.env.get('ORION_DATABASE_SSLMODE')).toEqual({ value: 'require' });
    expect((orion.env.get('ORION_DATABASE_URL') as { value: string }).value).toMatch(/\?ssl=require$/);
    // Out of the mesh: no AuthorizationPolicy for pods without a sidecar.
    expect(objectsOfKind(rendered, 'AuthorizationPolicy').filter((policy) => policy.metadata.name === 'postgres')).toEqual([]);
  });

  it('installs the operator in the platform layer from its chart repository', () => {
    const platform = names(rendered, 'platform');
    expect(platform).toEqual(
      expect.arrayContaining([
        'Namespace -/cnpg-system',
        'HelmRepository flux-system/cloudnative-pg',
        'HelmRelease flux-system/cloudnative-pg',
      ]),
    );
    expect(specOf(findObject(rendered, 'HelmRepository', 'cloudnative-pg', 'flux-system'))).toMatchObject({
      url: 'https://cloudnative-pg.github.io/charts',
    });
    expect(specOf(findObject(rendered, 'HelmRelease', 'cloudnative-pg', 'flux-system'))).toMatchObject({
      targetNamespace: 'cnpg-system',
      chart: { spec: { chart: 'cloudnative-pg', version: '0.29.0' } },
    });
  });
});

describe('external PostgreSQL and Redis', () => {
  const { data, render } = variant('dev', VARIANTS.externalData);
  const server = client('server');
  data.postgres.grantDatabase(server, 'orion');
  data.redis.cache.allowFrom(server);
  data.redis.work.allowFrom(server);
  const rendered = render();

  it('passes strict validation and kubectl kustomize', () => expectValid(rendered));

  it('runs no server, and registers each external host with the mesh (TCP, DNS, outside the mesh), visible where used', () => {
    expect(names(rendered, 'data').filter((name) => /^(StatefulSet|Deployment) .*\/(postgres|redis-cache|redis-work)$/.test(name))).toEqual(
      [],
    );
    const postgres = specOf(findObject(rendered, 'ServiceEntry', 'postgres-external', NS));
    expect(postgres).toEqual({
      hosts: ['prefect.abc123.us-east-1.rds.amazonaws.com'],
      location: 'MESH_EXTERNAL',
      resolution: 'DNS',
      ports: [{ number: 5432, name: 'tcp-postgres', protocol: 'TCP' }],
      exportTo: ['.', 'prefect'],
    });
    expect(specOf(findObject(rendered, 'ServiceEntry', 'redis-work-external', NS))).toMatchObject({
      hosts: ['work.example.com'],
      ports: [{ number: 6380, name: 'tcp-redis', protocol: 'TCP' }],
    });
    // The streams instance stays in the cluster.
    expect(names(rendered, 'data')).toContain('StatefulSet prefect-data/redis-streams');
  });

  it('still runs the init Jobs, against the external host, verifying its certificate', () => {
    const jobs = objectsOfKind(rendered, 'Job').filter((job) => job.metadata.name.startsWith('postgres-init-'));
    expect(jobs).toHaveLength(3);
    for (const job of jobs) {
      const container = specOf<{ template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } } }>(job)
        .template.spec.containers[0];
      const env = Object.fromEntries(
        (container?.env ?? []).filter((variable) => variable.value !== undefined).map((variable) => [variable.name, variable.value]),
      );
      expect(env).toMatchObject({
        POSTGRES_SUPERUSER_HOST: 'prefect.abc123.us-east-1.rds.amazonaws.com',
        POSTGRES_SUPERUSER_SSLMODE: 'verify-full',
        PGSSLROOTCERT: '/etc/postgres-ca/ca.crt',
      });
      const egress = specOf<{ egress: Array<{ to?: unknown; ports: Array<{ port: number }> }> }>(
        findObject(rendered, 'NetworkPolicy', job.metadata.name.replace(/-[0-9a-f]{10}$/, ''), NS),
      ).egress;
      // Outside the cluster: the port, to any address.
      expect(egress.at(-1)).toEqual({ ports: [{ protocol: 'TCP', port: 5432 }] });
    }
  });

  it.each(['verify-ca', 'verify-full'])(
    'mounts the CA for %s into every database client (init Jobs, migration Jobs, services) and sets PGSSLROOTCERT',
    (sslMode) => {
      const { render: renderCa } = variant('dev', {
        postgres: { provider: 'external', external: { host: 'db.example.com', sslMode, caSecret: 'rds-ca' } },
      });
      const withCa = renderCa();
      expectValid(withCa);
      type Pod = {
        containers: Array<{
          name: string;
          env: Array<{ name: string; value?: string }>;
          volumeMounts?: Array<{ name: string; mountPath: string }>;
        }>;
        initContainers?: Pod['containers'];
        volumes: Array<{ name: string; secret?: { secretName: string; items: Array<{ key: string }> } }>;
      };
      const clients = withCa.objects
        .filter(({ object }) => ['Job', 'Deployment', 'StatefulSet'].includes(object.kind))
        .map(({ object }) => ({ name: object.metadata.name, pod: specOf<{ template: { spec: Pod } }>(object).template.spec }))
        .filter(({ pod }) => JSON.stringify(pod).includes('_DATABASE_URL') || JSON.stringify(pod).includes('POSTGRES_SUPERUSER_HOST'));
      // The three init Jobs, the three migration Jobs and every service with a database.
      expect(clients.map(({ name }) => name.replace(/-[0-9a-f]{10}$/, '')).sort()).toEqual(
        expect.arrayContaining(['postgres-init-orion', 'migrate-orion', 'server', 'nebula', 'auth', 'events', 'ladler']),
      );
      for (const { name, pod } of clients) {
        expect(pod.volumes.find((volume) => volume.name === 'postgres-ca')?.secret, name).toEqual({
          secretName: 'rds-ca',
          items: [{ key: 'ca.crt', path: 'ca.crt' }],
          defaultMode: 0o444,
        });
        for (const container of [...(pod.initContainers ?? []), ...pod.containers].filter((c) => c.name !== 'istio-proxy')) {
          expect(container.env, `${name}/${container.name}`).toContainEqual({ name: 'PGSSLROOTCERT', value: '/etc/postgres-ca/ca.crt' });
          expect(container.volumeMounts, `${name}/${container.name}`).toContainEqual({
            name: 'postgres-ca',
            mountPath: '/etc/postgres-ca',
            readOnly: true,
          });
        }
      }
      // The README tells to create the CA Secret where each client reads it.
      const readme = buildVariant('dev', {
        postgres: { provider: 'external', external: { host: 'db.example.com', sslMode, caSecret: 'rds-ca' } },
      }).files.get('README.md') as string;
      for (const namespace of ['prefect-data', 'prefect'])
        expect(readme).toContain(`kubectl --namespace ${namespace} create secret generic rds-ca --from-file=ca.crt=<CA certificate file>`);
    },
  );

  it('gives clients TLS URLs where the server speaks TLS', () => {
    expect((server.env.get('ORION_DATABASE_URL') as { value: string }).value).toMatch(
      /@\$\(ORION_DATABASE_HOST\):\$\(ORION_DATABASE_PORT\)\/\$\(ORION_DATABASE_NAME\)\?ssl=verify-full$/,
    );
    expect(server.env.get('REDIS_CACHE_URL')).toEqual({
      value: 'rediss://:$(REDIS_CACHE_PASSWORD)@$(REDIS_CACHE_HOST):$(REDIS_CACHE_PORT)/0',
    });
    expect(server.env.get('REDIS_WORK_URL')).toEqual({ value: 'redis://:$(REDIS_WORK_PASSWORD)@$(REDIS_WORK_HOST):$(REDIS_WORK_PORT)/0' });
    expect(server.env.get('REDIS_WORK_PORT')).toEqual({ value: '6380' });
    expect(server.egress).toContainEqual({ purpose: 'redis-cache-external', port: 6379 });
  });
});

describe('External Secrets', () => {
  const { data, render } = variant('dev', VARIANTS.externalSecrets);
  data.postgres.grantDatabase(client('nebula'), 'nebula');
  data.redis.cache.allowFrom(client('nebula'));
  const rendered = render();

  it('passes strict validation and kubectl kustomize', () => expectValid(rendered));

  it("gives a namespace only the keys it reads (clients never get Redis's admin password)", () => {
    const keys = (namespace: string, name: string) =>
      specOf<{ data: Array<{ secretKey: string }> }>(findObject(rendered, 'ExternalSecret', name, namespace)).data.map(
        (entry) => entry.secretKey,
      );
    expect(keys(NS, 'prefect-redis-cache')).toEqual(['password', 'admin-password']);
    expect(keys('prefect', 'prefect-redis-cache')).toEqual(['password']);
    // A role's username is fixed (CloudNativePG checks it), so it goes wherever the Secret goes.
    expect(keys('prefect', 'prefect-postgres-nebula')).toEqual(['username', 'password']);
  });

  it('emits an ExternalSecret for every Secret read, in every namespace that reads it, and never a Secret', () => {
    expect(objectsOfKind(rendered, 'Secret')).toEqual([]);
    const externalSecrets = objectsOfKind(rendered, 'ExternalSecret')
      .map((object) => `${object.metadata.namespace}/${object.metadata.name}`)
      .sort();
    const read = [...new Set(secretReferences(rendered.objects.map(({ object }) => object)).map((reference) => reference.name))];
    for (const name of read) expect(externalSecrets).toContain(`${NS}/${name}`);
    expect(externalSecrets).toContain('prefect/prefect-postgres-nebula');
    expect(externalSecrets).not.toContain('prefect/prefect-postgres-superuser');
  });

  it("reads each key from the configured store, under the prefix and the Secret's id", () => {
    const superuser = specOf(findObject(rendered, 'ExternalSecret', 'prefect-postgres-superuser', NS));
    expect(superuser).toEqual({
      refreshInterval: '1h',
      secretStoreRef: { kind: 'ClusterSecretStore', name: 'vault' },
      target: {
        name: 'prefect-postgres-superuser',
        creationPolicy: 'Owner',
        deletionPolicy: 'Retain',
        template: {
          type: 'kubernetes.io/basic-auth',
          engineVersion: 'v2',
          metadata: { labels: findObject(rendered, 'ExternalSecret', 'prefect-postgres-superuser', NS).metadata.labels },
        },
      },
      data: SECRET_CATALOG['postgres-superuser'].keys.map((key) => ({
        secretKey: key,
        remoteRef: { key: 'prefect/dev/postgres-superuser', property: key },
      })),
    });
    expect(
      specOf<{ data: Array<{ secretKey: string }> }>(findObject(rendered, 'ExternalSecret', 'prefect-redis-cache', NS)).data.map(
        (entry) => entry.secretKey,
      ),
    ).toEqual(['password', 'admin-password']);
  });

  it('emits the image pull secret from the store too, as a dockerconfigjson Secret in both namespaces that pull Prefect images', () => {
    for (const namespace of ['prefect', NS]) {
      expect(specOf(findObject(rendered, 'ExternalSecret', 'prefect-registry', namespace))).toMatchObject({
        target: { name: 'prefect-registry', template: { type: 'kubernetes.io/dockerconfigjson' } },
        data: [{ secretKey: '.dockerconfigjson', remoteRef: { key: 'prefect/dev/image-pull', property: '.dockerconfigjson' } }],
      });
    }
    // Nothing is left to create by hand.
    const readme = buildVariant('dev', VARIANTS.externalSecrets).files.get('README.md') as string;
    expect(readme).toContain('None is created by hand.');
    expect(readme).not.toMatch(/^kubectl /m);
    expect(readme).not.toMatch(/kubectl --namespace \S+ create secret/);
  });

  it('installs the operator in the platform layer', () => {
    expect(names(rendered, 'platform')).toEqual(
      expect.arrayContaining([
        'Namespace -/external-secrets',
        'HelmRepository flux-system/external-secrets',
        'HelmRelease flux-system/external-secrets',
      ]),
    );
    expect(specOf(findObject(rendered, 'HelmRepository', 'external-secrets', 'flux-system'))).toMatchObject({
      url: 'https://charts.external-secrets.io',
    });
    expect(specOf(findObject(rendered, 'HelmRelease', 'external-secrets', 'flux-system'))).toMatchObject({
      targetNamespace: 'external-secrets',
      values: { installCRDs: true },
    });
  });
});
