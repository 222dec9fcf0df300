import { describe, expect, it } from 'vitest';
import { DATABASES } from '../../lib/catalog/services';
import type { RenderedEnvironment } from '../../lib/output/render';
import { buildVariant } from '../config-variants';
import { build } from '../helpers';

type Spec = Record<string, any>;
const jobs = (rendered: RenderedEnvironment) =>
  rendered.objects.filter(({ layer, object }) => layer === 'migrations' && object.kind === 'Job').map(({ object }) => object);

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
      expect(pod.containers[0].image).toBe('registry.example.com/prefect/cloud/server:2026.11.1');
      expect(pod.containers[0].command).toEqual(['prefect-cloud', 'migrate', database]);
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

  it('take the configured command', () => {
    const custom = buildVariant('prod', { prefect: { migrations: { command: ['prefect-cloud', 'database', 'upgrade'] } } });
    const job = jobs(custom).find((object) => object.metadata.name.startsWith('migrate-orion-')) as unknown as { spec: Spec };
    expect(job.spec.template.spec.containers[0].command).toEqual(['prefect-cloud', 'database', 'upgrade', 'orion']);
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
    rendered.objects.find(({ object }) => object.kind === 'Kustomization' && object.metadata.name === 'prefect-migrations')?.object
      .spec as Spec;
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
