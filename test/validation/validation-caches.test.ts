import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildEnvironment, checkEnvironment } from '../../lib/app/synthesize';
import { loadSchemaBundle, type SchemaBundle } from '../../lib/validation/schema-bundle';
import { StrictValidator, formatProblem } from '../../lib/validation/strict-validator';
import { FileCheckedObjects, FileRenderedTexts, FileValidatorStore } from '../../lib/validation/validation-caches';
import { build, loadEnvironment, PROJECT_ROOT } from '../helpers';

/*
 * The caches may only make synthesis faster: a cold, damaged or foreign cache gives the same
 * answer as a warm one. Each test works in a project folder of its own (the caches live in build/).
 */
let temporary: string;
let bundle: SchemaBundle;
beforeAll(() => {
  temporary = fs.mkdtempSync(path.join(os.tmpdir(), 'validation-caches-'));
  bundle = loadSchemaBundle(PROJECT_ROOT);
});
afterAll(() => fs.rmSync(temporary, { recursive: true, force: true }));

/** A project folder whose node_modules is the real one (the stored code requires ajv's runtime). */
function project(name: string): string {
  const folder = path.join(temporary, name);
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(path.join(folder, 'package.json'), '{}');
  fs.symlinkSync(path.join(PROJECT_ROOT, 'node_modules'), path.join(folder, 'node_modules'));
  return folder;
}

const badDeployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'prefect' },
  spec: {
    replicas: '2',
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: { containers: [{ name: 'web', image: 'nginx:1.27', imagePullPolicyy: 'Always' }] },
    },
  },
};

describe('compiled validators', () => {
  it('give the same problems cold (compiled, then stored) and warm (loaded from the store)', () => {
    const folder = project('same-answer');
    const plain = new StrictValidator(bundle).validate(badDeployment).map(formatProblem);
    expect(plain.length).toBeGreaterThanOrEqual(4);
    const cold = new StrictValidator(bundle, { store: new FileValidatorStore(folder, bundle.id) })
      .validate(badDeployment)
      .map(formatProblem);
    const stored = fs
      .readdirSync(path.join(folder, 'build', 'validators'), { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.js'));
    expect(stored).toEqual(expect.arrayContaining([expect.stringMatching(/kubernetes-1\.33_apps_v1_Deployment\.js$/)]));
    const warmStore = new FileValidatorStore(folder, bundle.id);
    expect(warmStore.load('kubernetes-1.33/apps/v1/Deployment')).toBeTypeOf('function');
    const warm = new StrictValidator(bundle, { store: warmStore }).validate(badDeployment).map(formatProblem);
    expect(cold).toEqual(plain);
    expect(warm).toEqual(plain);
  });

  it('ignores a damaged entry and one stored for another bundle', () => {
    const folder = project('damaged');
    new StrictValidator(bundle, { store: new FileValidatorStore(folder, bundle.id) }).validate(badDeployment);
    const store = new FileValidatorStore(folder, bundle.id);
    const [key] = fs.readdirSync(path.join(folder, 'build', 'validators'));
    const file = path.join(folder, 'build', 'validators', key as string, 'kubernetes-1.33_apps_v1_Deployment.js');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('additionalProperty', 'additionalPropertx'));
    expect(store.load('kubernetes-1.33/apps/v1/Deployment')).toBeUndefined();
    expect(new FileValidatorStore(folder, 'another bundle').load('kubernetes-1.35/apps/v1/Deployment')).toBeUndefined();
    // A validator over the damaged store still finds every problem, and repairs the entry.
    expect(new StrictValidator(bundle, { store }).validate(badDeployment).map(formatProblem)).toEqual(
      new StrictValidator(bundle).validate(badDeployment).map(formatProblem),
    );
    expect(new FileValidatorStore(folder, bundle.id).load('kubernetes-1.33/apps/v1/Deployment')).toBeTypeOf('function');
  });
});

describe('checked objects', () => {
  /** A validator that counts what it is asked, over the real one. */
  function countingValidator(): { validator: StrictValidator; calls: () => number } {
    const real = new StrictValidator(bundle);
    let calls = 0;
    const validator = Object.assign(Object.create(real) as StrictValidator, {
      validate: (object: unknown) => {
        calls++;
        return real.validate(object);
      },
    });
    return { validator, calls: () => calls };
  }

  it('skips the objects a successful run checked, and only for the same bundle and build', () => {
    const folder = project('checked');
    const rendered = build('dev');
    const first = countingValidator();
    const checked = new FileCheckedObjects(folder, bundle.id, 'build-1');
    expect(checkEnvironment(rendered, first.validator, checked)).toEqual([]);
    expect(first.calls()).toBe(rendered.objects.length);
    checked.save();

    const second = countingValidator();
    expect(checkEnvironment(rendered, second.validator, new FileCheckedObjects(folder, bundle.id, 'build-1'))).toEqual([]);
    expect(second.calls()).toBe(0);

    const otherBuild = countingValidator();
    checkEnvironment(rendered, otherBuild.validator, new FileCheckedObjects(folder, bundle.id, 'build-2'));
    expect(otherBuild.calls()).toBe(rendered.objects.length);
  });

  it('checks again an object that failed, and everything when the cache is damaged', () => {
    const folder = project('failed');
    const rendered = build('dev');
    const broken = {
      ...rendered,
      objects: [
        ...rendered.objects,
        {
          layer: 'platform' as const,
          file: 'platform/deployment.prefect.web.yaml',
          object: badDeployment as never,
          text: 'kind: Deployment\n',
        },
      ],
    };
    const checked = new FileCheckedObjects(folder, bundle.id, 'build-1');
    expect(checkEnvironment(broken, new StrictValidator(bundle), checked).length).toBeGreaterThan(0);
    checked.save();
    expect(
      checkEnvironment(broken, new StrictValidator(bundle), new FileCheckedObjects(folder, bundle.id, 'build-1')).length,
    ).toBeGreaterThan(0);

    const [key] = fs.readdirSync(path.join(folder, 'build', 'checked'));
    const file = path.join(folder, 'build', 'checked', key as string, 'dev.txt');
    fs.writeFileSync(file, `${fs.readFileSync(file, 'utf8')}0000\n`);
    const counting = countingValidator();
    checkEnvironment(rendered, counting.validator, new FileCheckedObjects(folder, bundle.id, 'build-1'));
    expect(counting.calls()).toBe(rendered.objects.length);
  });
});

describe('rendered texts', () => {
  const prod = build('prod');

  it('give the same files cold and warm, for the same build only, and again after damage', () => {
    const folder = project('rendered');
    const config = loadEnvironment('prod');
    const cold = new FileRenderedTexts(folder, 'build-1');
    const first = buildEnvironment(config, 'config/prod.yaml', cold);
    cold.save();
    expect([...first.files]).toEqual([...prod.files]);
    // Warm: nothing is dumped again.
    let dumped = 0;
    const warm = new FileRenderedTexts(folder, 'build-1');
    const counting = {
      render: (environment: string, json: string, dump: () => string) =>
        warm.render(environment, json, () => {
          dumped++;
          return dump();
        }),
      save: () => warm.save(),
    };
    expect([...buildEnvironment(config, 'config/prod.yaml', counting).files]).toEqual([...prod.files]);
    expect(dumped).toBe(0);
    // Another build renders everything again.
    dumped = 0;
    const other = new FileRenderedTexts(folder, 'build-2');
    buildEnvironment(config, 'config/prod.yaml', {
      render: (environment, json, dump) =>
        other.render(environment, json, () => {
          dumped++;
          return dump();
        }),
      save: () => other.save(),
    });
    expect(dumped).toBe(prod.objects.length);
    // A damaged file: ignored, the same files.
    const files = fs.readdirSync(path.join(folder, 'build', 'rendered'), { recursive: true, encoding: 'utf8' });
    const file = path.join(folder, 'build', 'rendered', files.find((name) => name.endsWith('prod.json')) as string);
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('kind: Deployment', 'kind: Deploymen'));
    expect([...buildEnvironment(config, 'config/prod.yaml', new FileRenderedTexts(folder, 'build-1')).files]).toEqual([...prod.files]);
  });

  it('cannot put a text that is not the object into dist/: the reading check of an unchecked text refuses it', () => {
    const texts = {
      render: (_environment: string, json: string, dump: () => string) =>
        json.includes('"kind":"Namespace"') ? dump().replace('restricted', 'privileged') : dump(),
      save: () => {},
    };
    const forged = buildEnvironment(loadEnvironment('prod'), 'config/prod.yaml', texts);
    const problems = checkEnvironment(forged, new StrictValidator(bundle));
    expect(problems.some((problem) => problem.includes('namespace.prefect.yaml'))).toBe(true);
  });
});
