import { describe, expect, it } from 'vitest';
import { databasesOf } from '../../lib/catalog/services';
import type { RenderedEnvironment } from '../../lib/output/render';
import { buildVariant } from '../config-variants';
import { build } from '../helpers';

/** The Customer-Managed environments' databases, which these tests build. */
const DATABASES = databasesOf('customer-managed') as ReadonlyArray<'events' | 'nebula' | 'orion'>;

type Spec = Record<string, any>;
/** The commands of Prefect's docs (reference/backend/database-migrations, upgrade-guide), events' assumed alike. */
const DOCUMENTED_STEPS: Record<string, string[][]> = {
  nebula: [['prefect-cloud', 'admin', 'database', 'upgrade']],
  orion: [
    ['prefect-cloud', 'logic', 'database', 'upgrade'],
    ['prefect-cloud', 'self-managed', 'update-orion'],
  ],
  events: [['prefect-cloud', 'events', 'database', 'upgrade']],
};
const envOf = (container: Spec) => Object.fromEntries((container.env as Spec[]).map((variable) => [variable.name, variable]));
const jobs = (rendered: RenderedEnvironment) =>
  rendered.objects
    .filter(
      ({ layer, object }) =>
        layer === 'migrations' && object.kind === 'Job' && object.metadata.labels?.['app.kubernetes.io/component'] === 'migration',
    )
    .map(({ object }) => object);

describe('migration Jobs', () => {
  const prod = build('prod');

  it('migrate each database once, as the superuser, with the server image', () => {
    expect(
      jobs(prod)
        .map((job) => job.metadata.name.replace(/-[0-9a-f]{10}$/, ''))
        .sort(),
    ).toEqual(DATABASES.map((database) => `migrate-${database}`));
    for (const job of jobs(prod)) {
      const database = job.metadata.name.split('-')[1] as string;
      const pod = (job.spec as Spec).template.spec;
      const steps = [...(pod.initContainers ?? []), ...pod.containers];
      for (const step of steps) expect(step.image).toBe('registry.example.com/prefect/cloud/server:2026.11.1');
      expect(steps.map((step: Spec) => step.command)).toEqual(DOCUMENTED_STEPS[database]);
      expect(steps[0].name).toBe('migrate');
      expect(pod.imagePullSecrets).toEqual([{ name: 'prefect-registry' }]);
      expect(pod.restartPolicy).toBe('Never');
    }
  });

  it('are Jobs that Flux can re-apply: hash-named, force-replaced, kept without TTL, completing under mTLS', () => {
    for (const job of jobs(prod)) {
      expect(job.metadata.name).toMatch(/^migrate-[a-z]+-[0-9a-f]{10}$/);
      expect(job.metadata.annotations?.['kustomize.toolkit.fluxcd.io/force']).toBe('enabled');
      expect((job.spec as Spec).ttlSecondsAfterFinished).toBeUndefined();
      expect(job.metadata.annotations?.['ignore-check.kube-linter.io/job-ttl-seconds-after-finished']).toMatch(/Flux/);
      expect((job.spec as Spec).template.metadata.annotations['sidecar.istio.io/nativeSidecar']).toBe('true');
    }
  });

  it('get a new name when the image changes, and keep it otherwise', () => {
    const upgraded = buildVariant('prod', { prefect: { image: { tag: '2026.12.0' } } });
    const names = (rendered: RenderedEnvironment) =>
      jobs(rendered)
        .map((job) => job.metadata.name)
        .sort();
    expect(names(build('prod'))).toEqual(names(prod));
    for (const [before, after] of names(prod).map((name, index) => [name, names(upgraded)[index]])) {
      expect(after).not.toBe(before);
      expect(after?.replace(/-[0-9a-f]{10}$/, '')).toBe(before?.replace(/-[0-9a-f]{10}$/, ''));
    }
  });

  it('get a new name on a secrets.revision bump (they run again), and read the pull secret from the catalog', () => {
    const bumped = buildVariant('prod', { secrets: { revision: '2' } });
    const before = jobs(prod)
      .map((job) => job.metadata.name)
      .sort();
    const after = jobs(bumped)
      .map((job) => job.metadata.name)
      .sort();
    expect(after).toHaveLength(3);
    for (const name of after) expect(before).not.toContain(name);
    // The pull secret goes through the Secret catalog, so the data namespace's copy is listed for creation.
    expect(prod.files.get('README.md')).toContain('kubectl --namespace prefect-data create secret docker-registry prefect-registry ');
  });

  it('migrate orion, then run update-orion only once the schema is migrated (an init container before it)', () => {
    const orion = jobs(prod).find((job) => job.metadata.name.startsWith('migrate-orion-')) as unknown as { spec: Spec };
    const pod = orion.spec.template.spec;
    expect(pod.initContainers.map((step: Spec) => step.name)).toEqual(['migrate']);
    expect(pod.containers.map((step: Spec) => step.name)).toEqual(['update-orion']);
  });

  it("give orion's migration the cache and concurrency-leases Redis settings, through the relation (env, both policies)", () => {
    const orion = jobs(prod).find((job) => job.metadata.name.startsWith('migrate-orion-')) as unknown as { spec: Spec };
    for (const step of [...orion.spec.template.spec.initContainers, ...orion.spec.template.spec.containers]) {
      const env = envOf(step);
      expect(env.REDIS_CACHE_URL?.value).toBe('redis://:$(REDIS_CACHE_PASSWORD)@$(REDIS_CACHE_HOST):$(REDIS_CACHE_PORT)/0');
      expect(env.REDIS_CACHE_PASSWORD?.valueFrom).toEqual({ secretKeyRef: { name: 'prefect-redis-cache', key: 'password' } });
      // concurrency-leases lives on the work instance by default (redis.roles).
      expect(env.REDIS_CONCURRENCY_LEASES_HOST?.value).toMatch(/^redis-work\./);
      expect(env.REDIS_CONCURRENCY_LEASES_PASSWORD?.valueFrom).toEqual({ secretKeyRef: { name: 'prefect-redis-work', key: 'password' } });
    }
    const policy = (name: string) =>
      prod.objects.find(({ object }) => object.kind === 'NetworkPolicy' && object.metadata.name === name)?.object.spec as Spec;
    const egressPods = policy('migrate-orion').egress.flatMap((rule: Spec) =>
      rule.to.map((peer: Spec) => peer.podSelector?.matchLabels?.['app.kubernetes.io/name']),
    );
    expect(egressPods).toEqual(expect.arrayContaining(['redis-cache', 'redis-work']));
    expect(
      policy('migrate-nebula').egress.flatMap((rule: Spec) =>
        rule.to.map((peer: Spec) => peer.podSelector?.matchLabels?.['app.kubernetes.io/name']),
      ),
    ).not.toContain('redis-cache');
    for (const instance of ['cache', 'work']) {
      const admitted = policy(`redis-${instance}`).ingress.flatMap((rule: Spec) =>
        rule.from.map((peer: Spec) => peer.podSelector?.matchLabels?.['app.kubernetes.io/name']),
      );
      expect(admitted).toContain('migrate-orion');
      const authorization = prod.objects.find(
        ({ object }) => object.kind === 'AuthorizationPolicy' && object.metadata.name === `redis-${instance}`,
      )?.object.spec as Spec;
      expect(JSON.stringify(authorization)).toContain('/ns/prefect-data/sa/migrate-orion');
    }
  });

  it('take the configured commands per database, and keep the defaults of the others', () => {
    const custom = buildVariant('prod', {
      prefect: { migrations: { commands: { orion: [['prefect-cloud', 'logic', 'database', 'upgrade', 'head']] } } },
    });
    const steps = (database: string) => {
      const job = jobs(custom).find((object) => object.metadata.name.startsWith(`migrate-${database}-`)) as unknown as { spec: Spec };
      return [...(job.spec.template.spec.initContainers ?? []), ...job.spec.template.spec.containers].map((step: Spec) => step.command);
    };
    expect(steps('orion')).toEqual([['prefect-cloud', 'logic', 'database', 'upgrade', 'head']]);
    expect(steps('nebula')).toEqual(DOCUMENTED_STEPS.nebula);
    expect(() => buildVariant('prod', { prefect: { migrations: { command: ['prefect-cloud', 'migrate'] } } })).toThrow(
      'config/prod.yaml: prefect.migrations.command: unknown key; did you mean "commands"?',
    );
  });

  it('read a Secret key for an extra variable, and refuse a secret literal without printing it', () => {
    const custom = buildVariant('prod', {
      prefect: {
        migrations: { env: { PREFECT_CLOUD_LICENSE_KEY: { secret: 'prefect-license', key: 'license-key' }, LOG_LEVEL: 'DEBUG' } },
      },
    });
    for (const job of jobs(custom)) {
      const env = envOf((job.spec as Spec).template.spec.containers[0]);
      expect(env.PREFECT_CLOUD_LICENSE_KEY?.valueFrom).toEqual({ secretKeyRef: { name: 'prefect-license', key: 'license-key' } });
      expect(env.LOG_LEVEL?.value).toBe('DEBUG');
    }
    expect(custom.files.get('README.md')).toMatch(
      /kubectl --namespace prefect-data create secret generic prefect-license --type=Opaque --from-literal=license-key=<license-key>/,
    );
    let message = '';
    try {
      buildVariant('prod', { prefect: { migrations: { env: { PREFECT_CLOUD_LICENSE_KEY: 'lk-9f8e7d6c5b4a' } } } });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain(
      'config/prod.yaml: prefect.migrations.env.PREFECT_CLOUD_LICENSE_KEY: expected a Secret key, PREFECT_CLOUD_LICENSE_KEY: { secret: <Secret name>, key: <key> }, not a literal: the name says the value is secret',
    );
    expect(message).not.toContain('lk-9f8e7d6c5b4a');
  });
});

describe('image digests', () => {
  const digest = `sha256:${'ab'.repeat(32)}`;
  const pinned = buildVariant('prod', { prefect: { image: { digests: { server: digest } } } });

  it('pin the server image by content in the services and the migration Jobs, and leave the UI by tag', () => {
    const images = pinned.objects
      .filter(
        ({ object }) =>
          ['Deployment', 'StatefulSet', 'Job'].includes(object.kind) &&
          (object.metadata.namespace === 'prefect' || object.metadata.name.startsWith('migrate-')),
      )
      .map(({ object }) => [object.metadata.name, (object.spec as Spec).template.spec.containers[0].image as string] as const);
    expect(images.length).toBeGreaterThan(10);
    for (const [name, image] of images) {
      expect(image, name).toBe(
        name === 'ui' ? 'registry.example.com/prefect/cloud/ui:2026.11.1' : `registry.example.com/prefect/cloud/server:2026.11.1@${digest}`,
      );
    }
  });

  it('fails on a digest that is not a sha256 digest', () => {
    expect(() => buildVariant('prod', { prefect: { image: { digests: { ui: 'sha256:abc' } } } })).toThrow(
      'config/prod.yaml: prefect.image.digests.ui: expected an image digest such as "sha256:" followed by 64 hex digits, got "sha256:abc"',
    );
  });
});

describe('migration deadlines', () => {
  const migrationsLayer = (rendered: RenderedEnvironment) =>
    rendered.objects.find(
      ({ object }) => object.kind === 'Kustomization' && object.metadata.name === `prefect-${rendered.environment}-migrations`,
    )?.object.spec as Spec;
  const deadlines = (rendered: RenderedEnvironment) =>
    Object.fromEntries(jobs(rendered).map((job) => [job.metadata.name.split('-')[1], (job.spec as Spec).activeDeadlineSeconds]));

  it('allow an hour per database by default, and the layer waits for the longest and a margin', () => {
    const prod = build('prod');
    expect(deadlines(prod)).toEqual({ events: 3600, nebula: 3600, orion: 3600 });
    expect(migrationsLayer(prod).timeout).toBe('70m');
  });

  it('follow the configuration per database, and the layer timeout follows the longest', () => {
    const rendered = buildVariant('prod', { prefect: { migrations: { deadlines: { orion: '2h30m', events: '20m' } } } });
    expect(deadlines(rendered)).toEqual({ events: 1200, nebula: 3600, orion: 9000 });
    expect(migrationsLayer(rendered).timeout).toBe('160m');
  });

  it('never give the layer less than flux.timeout', () => {
    const rendered = buildVariant('prod', [
      { prefect: { migrations: { deadlines: { events: '5m', nebula: '5m', orion: '5m' } } } },
      { flux: { timeout: '30m' } },
    ]);
    expect(migrationsLayer(rendered).timeout).toBe('30m');
  });

  it('refuse a deadline under a minute, naming the field', () => {
    expect(() => buildVariant('prod', { prefect: { migrations: { deadlines: { orion: '30s' } } } })).toThrow(
      'prefect.migrations.deadlines.orion: expected at least one minute, such as "1h"',
    );
    expect(() => buildVariant('prod', { prefect: { migrations: { deadlines: { orin: '1h' } } } })).toThrow(
      /prefect\.migrations\.deadlines\.orin/,
    );
  });
});

describe('migration Jobs under Flux pruning', () => {
  const prod = build('prod');
  const cleanupOf = (rendered: RenderedEnvironment) =>
    rendered.objects
      .filter(({ layer }) => layer === 'migrations')
      .map(({ object }) => object)
      .filter((object) => object.metadata.name.startsWith('migrations-cleanup'));
  const cleanupJob = (rendered: RenderedEnvironment) => cleanupOf(rendered).find((object) => object.kind === 'Job') as Spec;
  const args = (job: Spec, container: 'wait' | 'delete') =>
    [...job.spec.template.spec.initContainers, ...job.spec.template.spec.containers].find((c: Spec) => c.name === container)
      .command as string[];
  /** A kubectl `--selector` or `--field-selector` value as its requirements. */
  const requirements = (command: readonly string[], flag: string) =>
    (command.find((arg) => arg.startsWith(`${flag}=`)) as string).slice(flag.length + 1).split(',');
  const matches = (selector: readonly string[], labels: Record<string, string>) =>
    selector.every((requirement) => {
      const [key, value] = requirement.split('=') as [string, string];
      return labels[key] === value;
    });

  it('are never pruned by Flux, and the layer is ready once they are, whatever their cleanup does', () => {
    for (const job of jobs(prod)) expect(job.metadata.annotations?.['kustomize.toolkit.fluxcd.io/prune']).toBe('disabled');
    const layer = prod.objects.find(({ object }) => object.kind === 'Kustomization' && object.metadata.name === 'prefect-prod-migrations')
      ?.object.spec as Spec;
    expect(layer.wait).toBe(false);
    expect(layer.healthChecks).toEqual(
      jobs(prod).map((job) => ({ apiVersion: 'batch/v1', kind: 'Job', name: job.metadata.name, namespace: 'prefect-data' })),
    );
    // The cleanup is prunable: a newer one replaces it.
    expect(cleanupJob(prod).metadata.annotations?.['kustomize.toolkit.fluxcd.io/prune']).toBeUndefined();
  });

  it("are cleaned up by the next release: it waits for its own Jobs, then deletes the installation's succeeded migration Jobs but its own", () => {
    const job = cleanupJob(prod);
    const current = jobs(prod).map((migration) => migration.metadata.name);
    expect(args(job, 'wait')).toEqual([
      'kubectl',
      'wait',
      '--namespace=prefect-data',
      '--for=condition=Complete',
      '--timeout=3900s',
      ...current.map((name) => `job/${name}`),
    ]);
    const remove = args(job, 'delete');
    expect(remove.slice(0, 3)).toEqual(['kubectl', 'delete', 'jobs']);
    const selector = requirements(remove, '--selector');
    // Every migration Job matches the selector, whatever its release; the cleanup itself does not.
    for (const migration of jobs(prod)) expect(matches(selector, migration.metadata.labels ?? {})).toBe(true);
    expect(matches(selector, job.metadata.labels)).toBe(false);
    expect(matches(selector, { ...(jobs(buildVariant('dev', {}))[0]?.metadata.labels ?? {}) })).toBe(false);
    expect(requirements(remove, '--field-selector')).toEqual(['status.successful=1', ...current.map((name) => `metadata.name!=${name}`)]);
  });

  it('calls the API server with a Role that may only read and delete Jobs, from outside the mesh, to the API server only', () => {
    const objects = cleanupOf(buildVariant('prod', { cluster: { apiServer: { ranges: ['10.0.0.10/32'], ports: [443] } } }));
    const role = objects.find((object) => object.kind === 'Role') as Spec;
    expect(role.rules).toEqual([{ apiGroups: ['batch'], resources: ['jobs'], verbs: ['get', 'list', 'watch', 'delete'] }]);
    const binding = objects.find((object) => object.kind === 'RoleBinding') as Spec;
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'migrations-cleanup', namespace: 'prefect-data' }]);
    const pod = (objects.find((object) => object.kind === 'Job') as Spec).spec.template;
    expect(pod.metadata.labels['sidecar.istio.io/inject']).toBe('false');
    expect(pod.spec.automountServiceAccountToken).toBe(true);
    expect(pod.spec.serviceAccountName).toBe('migrations-cleanup');
    const policy = objects.find((object) => object.kind === 'NetworkPolicy') as Spec;
    const toApiServer = (policy.spec.egress as Spec[]).filter((rule) => rule.to?.some((peer: Spec) => peer.ipBlock));
    expect(toApiServer).toEqual([{ to: [{ ipBlock: { cidr: '10.0.0.10/32' } }], ports: [{ protocol: 'TCP', port: 443 }] }]);
  });

  it('leaves earlier Jobs in place when the cleanup is off', () => {
    const rendered = buildVariant('prod', { prefect: { migrations: { cleanup: { enabled: false } } } });
    expect(cleanupOf(rendered)).toEqual([]);
    expect(jobs(rendered)).toHaveLength(3);
  });
});
