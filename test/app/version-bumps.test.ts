/*
 * A version bump touches only what it upgrades: the version label is on the workloads of that
 * version alone, never on their pods' labels, claim templates or any other object (the API
 * server test dry-runs the same bumps over the applied committed output).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { synthesize } from '../../lib/app/synthesize';
import type { RenderedEnvironment } from '../../lib/output/render';
import { buildVariant } from '../config-variants';
import { PROJECT_ROOT, sharedValidator } from '../helpers';

const DIST = path.join(PROJECT_ROOT, 'dist', 'prod');

/** `~ file` (changed), `+ file` (new) and `- file` (gone) against the committed dist/prod. */
function changes(rendered: RenderedEnvironment): string[] {
  const committed = new Set(fs.readdirSync(DIST, { recursive: true, encoding: 'utf8' }).filter((file) => /\.(yaml|md)$/.test(file)));
  const result: string[] = [];
  for (const [file, text] of rendered.files) {
    if (!committed.has(file)) result.push(`+ ${file}`);
    else if (fs.readFileSync(path.join(DIST, file), 'utf8') !== text) result.push(`~ ${file}`);
    committed.delete(file);
  }
  for (const file of committed) result.push(`- ${file}`);
  return result.sort();
}

/** The committed files of `layer` whose name starts with `prefix`. */
function committedFiles(layer: string, prefix: string): string[] {
  return fs
    .readdirSync(path.join(DIST, layer))
    .filter((file) => file.startsWith(prefix))
    .map((file) => `${layer}/${file}`);
}

/** A hash-named Job replaced: the committed one gone, one of the same base name added. */
function replacedJobs(result: readonly string[], layer: string, prefix: string): string[] {
  const gone = committedFiles(layer, prefix).map((file) => `- ${file}`);
  const added = result.filter((line) => line.startsWith(`+ ${layer}/${prefix}`));
  expect(added).toHaveLength(gone.length);
  return [...gone, ...added, `~ ${layer}/kustomization.yaml`];
}

describe('a version bump of prod touches only what it upgrades', () => {
  it('a Prefect release: the Prefect workloads, the migration Jobs and their cleanup replaced, the layer waiting for the new Jobs', () => {
    const result = changes(buildVariant('prod', { prefect: { image: { tag: '2026.12.1' } } }));
    const workloads = [...committedFiles('prefect', 'deployment.'), ...committedFiles('prefect', 'statefulset.')].map(
      (file) => `~ ${file}`,
    );
    expect(workloads.length).toBeGreaterThan(5);
    const jobs = new Set([
      ...replacedJobs(result, 'migrations', 'job.prefect-data.migrate-'),
      ...replacedJobs(result, 'migrations', 'job.prefect-data.migrations-cleanup-'),
    ]);
    // The migrations layer's health checks name the Jobs it waits for.
    const fluxLayer = '~ flux/kustomization.flux-system.prefect-prod-migrations.yaml';
    expect(result).toEqual([...workloads, ...jobs, fluxLayer].sort());
  });

  it('a PostgreSQL version: its StatefulSet, the backup CronJob (the same image), and the init Jobs replaced', () => {
    const result = changes(buildVariant('prod', { postgres: { version: '17.7' } }));
    expect(result).toEqual(
      [
        '~ data/cronjob.prefect-data.postgres-backup.yaml',
        '~ data/statefulset.prefect-data.postgres.yaml',
        ...replacedJobs(result, 'data', 'job.prefect-data.postgres-init-'),
      ].sort(),
    );
  });

  it('a Redis version: that instance only', () => {
    expect(changes(buildVariant('prod', { redis: { streams: { version: '7.4.7' } } }))).toEqual([
      '~ data/statefulset.prefect-data.redis-streams.yaml',
    ]);
  });
});

describe('a Prefect release change', () => {
  const SERVER = 'prefect/deployment.prefect.server.yaml';

  /** dist/prod copied, with the services' committed release set to `release`. */
  function committedAt(release: string): string {
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'prefect-cdk8s-release-'));
    fs.cpSync(DIST, path.join(outDir, 'prod'), { recursive: true });
    const file = path.join(outDir, 'prod', SERVER);
    const object = yaml.load(fs.readFileSync(file, 'utf8')) as { metadata: { labels: Record<string, string> } };
    object.metadata.labels['app.kubernetes.io/version'] = release;
    fs.writeFileSync(file, yaml.dump(object));
    return outDir;
  }

  it('is announced with the one-release-at-a-time rule of the upgrade guide, and only when the release changes', () => {
    for (const [committed, announced] of [
      ['2026.8.1', true],
      ['2026.11.1', false],
    ] as const) {
      const outDir = committedAt(committed);
      try {
        const result = synthesize({ projectRoot: PROJECT_ROOT, outDir, environments: ['prod'], validator: sharedValidator() });
        const notes = (result.environments[0]?.warnings ?? []).filter((warning) => warning.includes("Prefect's release changes"));
        expect(notes, committed).toEqual(
          announced
            ? [
                "Prefect's release changes from 2026.8.1 to 2026.11.1: upgrade one release at a time (Prefect's upgrade guide), so 2026.11.1 must be the release right after 2026.8.1; otherwise go through each release between them, one commit and one reconciliation each, and read the guide's notes of every release on the way",
              ]
            : [],
        );
      } finally {
        fs.rmSync(outDir, { recursive: true, force: true });
      }
    }
  });
});
