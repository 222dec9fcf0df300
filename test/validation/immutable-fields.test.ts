import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { SynthesisError, synthesize } from '../../lib/app/synthesize';
import type { KubernetesObject } from '../../lib/output/render';
import { immutableChanges } from '../../lib/validation/immutable-fields';
import { PROJECT_ROOT, sharedValidator, treeHash } from '../helpers';

const DIST = path.join(PROJECT_ROOT, 'dist', 'prod');

function committed(file: string): KubernetesObject {
  return yaml.load(fs.readFileSync(path.join(DIST, file), 'utf8')) as KubernetesObject;
}

type Editable = any;

function edited(file: string, edit: (object: Editable) => void): KubernetesObject {
  const object = structuredClone(committed(file)) as Editable;
  edit(object);
  return object;
}

const POSTGRES = 'data/statefulset.prefect-data.postgres.yaml';
const UI = 'prefect/deployment.prefect.ui.yaml';

describe('the fields the API server will not update', () => {
  it.each<[string, string, (object: Editable) => void, string, string]>([
    [
      'a StatefulSet storage class',
      POSTGRES,
      (o) => (o.spec.volumeClaimTemplates[0].spec.storageClassName = 'io2'),
      'spec.volumeClaimTemplates',
      'spec.volumeClaimTemplates[0].spec.storageClassName',
    ],
    [
      'a StatefulSet volume size',
      POSTGRES,
      (o) => (o.spec.volumeClaimTemplates[0].spec.resources.requests.storage = '200Gi'),
      'spec.volumeClaimTemplates',
      'spec.volumeClaimTemplates[0].spec.resources.requests.storage',
    ],
    [
      'a StatefulSet pod management policy',
      POSTGRES,
      (o) => (o.spec.podManagementPolicy = 'OrderedReady'),
      'spec.podManagementPolicy',
      'spec.podManagementPolicy',
    ],
    ['a StatefulSet governing Service', POSTGRES, (o) => (o.spec.serviceName = 'postgres-other'), 'spec.serviceName', 'spec.serviceName'],
    [
      'a StatefulSet selector',
      POSTGRES,
      (o) => (o.spec.selector.matchLabels.extra = 'x'),
      'spec.selector',
      'spec.selector.matchLabels.extra',
    ],
    ['a Deployment selector', UI, (o) => (o.spec.selector.matchLabels.extra = 'x'), 'spec.selector', 'spec.selector.matchLabels.extra'],
    [
      'a Service made headless',
      'data/service.prefect-data.postgres.yaml',
      (o) => (o.spec.clusterIP = 'None'),
      'spec.clusterIP',
      'spec.clusterIP',
    ],
    ['a priority class value', 'platform/priorityclass.prefect-data.yaml', (o) => (o.value += 1), 'value', 'value'],
  ])('%s', (_case, file, edit, field, where) => {
    const changes = immutableChanges(committed(file), edited(file, edit));
    expect(changes.map((change) => [change.field, change.path])).toEqual([[field, where]]);
  });

  it('lets through what the API server updates: a StatefulSet template, replicas and update strategy, a Deployment template, a dropped clusterIP', () => {
    const headless = 'data/service.prefect-data.postgres-headless.yaml';
    // Server-side apply keeps the live value of a field the configuration drops: no refusal.
    expect(
      immutableChanges(
        committed(headless),
        edited(headless, (o) => delete o.spec.clusterIP),
      ),
    ).toEqual([]);
    expect(
      immutableChanges(
        committed(POSTGRES),
        edited(POSTGRES, (o) => {
          o.spec.template.spec.containers[0].image = 'postgres:17.7';
          o.spec.replicas = 2;
          o.spec.updateStrategy = { type: 'OnDelete' };
          o.metadata.labels['app.kubernetes.io/version'] = '17.7';
        }),
      ),
    ).toEqual([]);
    expect(
      immutableChanges(
        committed(UI),
        edited(UI, (o) => (o.spec.template.spec.containers[0].image = 'ui:next')),
      ),
    ).toEqual([]);
  });

  it('leaves to Flux what it replaces itself (a Job marked force), and refuses a Job template change otherwise', () => {
    const job = fs.readdirSync(path.join(DIST, 'migrations')).find((file) => file.startsWith('job.')) as string;
    const file = `migrations/${job}`;
    const retagged = (o: Editable) => (o.spec.template.spec.containers[0].image = 'server:next');
    expect(immutableChanges(committed(file), edited(file, retagged))).toEqual([]);
    const unforced = (o: Editable) => delete o.metadata.annotations['kustomize.toolkit.fluxcd.io/force'];
    expect(
      immutableChanges(
        edited(file, unforced),
        edited(file, (o) => {
          unforced(o);
          retagged(o);
        }),
      ).map((c) => c.field),
    ).toEqual(['spec.template']);
  });

  it('refuses the data of an immutable ConfigMap, and not of a mutable one', () => {
    const file = 'data/configmap.prefect-data.postgres-config.yaml';
    const changedData = (o: Editable) => (o.data['postgresql.conf'] += '\n# changed\n');
    expect(immutableChanges(committed(file), edited(file, changedData))).toEqual([]);
    const immutable = (o: Editable) => (o.immutable = true);
    expect(
      immutableChanges(
        edited(file, immutable),
        edited(file, (o) => {
          immutable(o);
          changedData(o);
        }),
      ).map((c) => c.field),
    ).toEqual(['data']);
  });
});

describe('synthesis with a refused change', () => {
  function withCommitted(edit: (object: Editable) => void): string {
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'prefect-cdk8s-immutable-'));
    fs.cpSync(DIST, path.join(outDir, 'prod'), { recursive: true });
    const file = path.join(outDir, 'prod', POSTGRES);
    const object = yaml.load(fs.readFileSync(file, 'utf8')) as Editable;
    edit(object);
    fs.writeFileSync(file, yaml.dump(object));
    return outDir;
  }

  it('refuses it, naming the file, the field and the steps, and leaves dist/ as it was', () => {
    const outDir = withCommitted((o) => (o.spec.volumeClaimTemplates[0].spec.storageClassName = 'standard'));
    try {
      const before = treeHash(outDir);
      let error: unknown;
      try {
        synthesize({ projectRoot: PROJECT_ROOT, outDir, environments: ['prod'], validator: sharedValidator() });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(SynthesisError);
      const problems = (error as SynthesisError).problems;
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain(
        `${path.relative(PROJECT_ROOT, path.join(outDir, 'prod', POSTGRES))}: StatefulSet prefect-data/postgres: spec.volumeClaimTemplates changes`,
      );
      expect(problems[0]).toContain('spec.volumeClaimTemplates[0].spec.storageClassName: "standard" → "gp3"');
      expect(problems[0]).toContain('kubectl -n prefect-data delete statefulset postgres --cascade=orphan');
      expect(problems[0]).toContain('--allow-immutable-changes');
      expect(treeHash(outDir)).toBe(before);
    } finally {
      fs.rmSync(outDir, { recursive: true, force: true });
    }
  });

  it('tells how to grow a volume: the claim itself, then the StatefulSet recreated over it', () => {
    const outDir = withCommitted((o) => (o.spec.volumeClaimTemplates[0].spec.resources.requests.storage = '50Gi'));
    try {
      let error: unknown;
      try {
        synthesize({ projectRoot: PROJECT_ROOT, outDir, environments: ['prod'], validator: sharedValidator() });
      } catch (caught) {
        error = caught;
      }
      const [problem] = (error as SynthesisError).problems;
      expect(problem).toContain('spec.volumeClaimTemplates[0].spec.resources.requests.storage: "50Gi" → "100Gi"');
      expect(problem).toContain(
        `kubectl -n prefect-data patch pvc data-postgres-0 --patch '{"spec":{"resources":{"requests":{"storage":"100Gi"}}}}'`,
      );
      expect(problem).toContain('its StorageClass must allow volume expansion');
    } finally {
      fs.rmSync(outDir, { recursive: true, force: true });
    }
  });

  it('writes it when allowed', () => {
    const outDir = withCommitted((o) => (o.spec.podManagementPolicy = 'OrderedReady'));
    try {
      const result = synthesize({
        projectRoot: PROJECT_ROOT,
        outDir,
        environments: ['prod'],
        validator: sharedValidator(),
        allowImmutableChanges: true,
      });
      expect(result.changed).toEqual(['prod']);
      expect(fs.readFileSync(path.join(outDir, 'prod', POSTGRES), 'utf8')).toBe(fs.readFileSync(path.join(DIST, POSTGRES), 'utf8'));
    } finally {
      fs.rmSync(outDir, { recursive: true, force: true });
    }
  });
});

describe('a Kustomization no longer generated', () => {
  const DATA_LAYER = 'flux/kustomization.flux-system.prefect-prod-data.yaml';
  const OLD_NAME = 'flux/kustomization.flux-system.prefect-data.yaml';

  /** dist/prod as committed, plus a Kustomization of an earlier name that the generator no longer writes. */
  function withRetired(edit: (object: Editable) => void): string {
    const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'prefect-cdk8s-retired-'));
    fs.cpSync(DIST, path.join(outDir, 'prod'), { recursive: true });
    const object = committed(DATA_LAYER) as Editable;
    object.metadata.name = 'prefect-data';
    edit(object);
    // As an earlier synthesis wrote it, with its generated line.
    const header = fs.readFileSync(path.join(DIST, DATA_LAYER), 'utf8').split('\n')[0];
    fs.writeFileSync(path.join(outDir, 'prod', OLD_NAME), `${header}\n${yaml.dump(object)}`);
    return outDir;
  }

  function refusal(outDir: string): readonly string[] {
    try {
      synthesize({ projectRoot: PROJECT_ROOT, outDir, environments: ['prod'], validator: sharedValidator() });
      return [];
    } catch (error) {
      if (!(error instanceof SynthesisError)) throw error;
      return error.problems;
    }
  }

  it.each<[string, (object: Editable) => void]>([
    ['Flux default deletion policy (MirrorPrune) with prune on', (o) => delete o.spec.deletionPolicy],
    ['deletionPolicy Delete, even with prune off', (o) => Object.assign(o.spec, { deletionPolicy: 'Delete', prune: false })],
    ['deletionPolicy WaitForTermination', (o) => (o.spec.deletionPolicy = 'WaitForTermination')],
  ])('is refused when its deletion deletes its layer: %s', (_case, edit) => {
    const outDir = withRetired(edit);
    try {
      const before = treeHash(outDir);
      const problems = refusal(outDir);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toContain(
        `${path.relative(PROJECT_ROOT, path.join(outDir, 'prod', OLD_NAME))}: Kustomization flux-system/prefect-data is no longer generated`,
      );
      expect(problems[0]).toContain('it deletes every object it applied');
      expect(problems[0]).toContain(
        `kubectl -n flux-system patch kustomization prefect-data --type merge --patch '{"spec":{"deletionPolicy":"Orphan"}}'`,
      );
      expect(problems[0]).toContain('--allow-immutable-changes');
      expect(treeHash(outDir)).toBe(before);
    } finally {
      fs.rmSync(outDir, { recursive: true, force: true });
    }
  });

  it.each<[string, (object: Editable) => void]>([
    ['deletionPolicy Orphan', (o) => (o.spec.deletionPolicy = 'Orphan')],
    ['MirrorPrune with prune off', (o) => Object.assign(o.spec, { deletionPolicy: 'MirrorPrune', prune: false })],
    ['suspended', (o) => Object.assign(o.spec, { deletionPolicy: 'MirrorPrune', suspend: true })],
  ])('goes when its deletion leaves its objects: %s', (_case, edit) => {
    const outDir = withRetired(edit);
    try {
      expect(refusal(outDir)).toEqual([]);
      expect(fs.existsSync(path.join(outDir, 'prod', OLD_NAME))).toBe(false);
    } finally {
      fs.rmSync(outDir, { recursive: true, force: true });
    }
  });

  it('goes when allowed, with the steps taken by hand', () => {
    const outDir = withRetired((o) => delete o.spec.deletionPolicy);
    try {
      synthesize({ projectRoot: PROJECT_ROOT, outDir, environments: ['prod'], validator: sharedValidator(), allowImmutableChanges: true });
      expect(fs.existsSync(path.join(outDir, 'prod', OLD_NAME))).toBe(false);
      expect(fs.existsSync(path.join(outDir, 'prod', DATA_LAYER))).toBe(true);
    } finally {
      fs.rmSync(outDir, { recursive: true, force: true });
    }
  });
});
