import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replaceFolders } from '../../lib/output/atomic-tree';
import { copyProject, removeProjectCopy, run, treeHash } from '../helpers';

/*
 * Synthesis is all or nothing: whatever fails, dist/ stays byte-identical (Flux with prune would
 * otherwise delete the installation). Each test runs the real entry points in a copy of the
 * project.
 */
describe('atomic synthesis', () => {
  let project: string;
  let dist: string;
  // The bundled entry point, as `make synth` runs it: rebuilt (esbuild, well under a second) after an edit of the code.
  const bundle = () => {
    const built = run('make', ['--silent', 'build/main.js'], project);
    expect(built.stderr).toBe('');
  };
  const synth = (...args: string[]) => run('node', ['build/main.js', ...args], project);

  beforeAll(() => {
    project = copyProject();
    dist = path.join(project, 'dist');
    bundle();
    const first = synth();
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
  });
  afterAll(() => removeProjectCopy(project));

  const edit = (file: string, change: (text: string) => string) => {
    const target = path.join(project, file);
    const original = fs.readFileSync(target, 'utf8');
    const code = file.endsWith('.ts');
    fs.writeFileSync(target, change(original));
    if (code) bundle();
    return () => {
      fs.writeFileSync(target, original);
      if (code) bundle();
    };
  };

  it('fails on bad configuration with exit status 2 and leaves dist/ unchanged', () => {
    const before = treeHash(dist);
    const restore = edit('config/prod.yaml', (text) => text.replace('memory: 2Gi', 'memory: lots'));
    try {
      const result = synth();
      expect(result.status).toBe(2);
      expect(result.stderr).toContain('config/prod.yaml: redis.cache.memory: expected a Kubernetes quantity such as "2Gi", got "lots"');
      expect(treeHash(dist)).toBe(before);
    } finally {
      restore();
    }
  });

  it('fails when a construct throws and leaves dist/ unchanged', () => {
    const before = treeHash(dist);
    const restore = edit('lib/charts/flux-chart.ts', (text) =>
      text.replace("super(scope, 'flux', props);", "super(scope, 'flux', props);\n    throw new Error('construct exploded');"),
    );
    try {
      const result = synth();
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('construct exploded');
      expect(treeHash(dist)).toBe(before);
    } finally {
      restore();
    }
  });

  it('fails when an object is invalid against its schema and leaves dist/ unchanged', () => {
    const before = treeHash(dist);
    // A raw ApiObject: the generated L1 classes would drop the unknown field before validation.
    const restore = edit('lib/charts/platform-chart.ts', (text) =>
      `import { ApiObject } from 'cdk8s';\n${text}`.replace(
        "super(scope, 'platform', props);",
        "super(scope, 'platform', props);\n    new ApiObject(this, 'Broken', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'broken', namespace: 'prefect' }, datta: {} });",
      ),
    );
    try {
      const result = synth();
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/dist\/dev\/platform\/configmap\.prefect\.broken\.yaml: .*: datta: unknown field/);
      expect(treeHash(dist)).toBe(before);
    } finally {
      restore();
    }
  });

  it('removes stale files and folders of removed environments on success', () => {
    fs.writeFileSync(path.join(dist, 'dev', 'platform', 'configmap.prefect.leftover.yaml'), 'kind: ConfigMap\n');
    fs.mkdirSync(path.join(dist, 'qa', 'platform'), { recursive: true });
    fs.writeFileSync(path.join(dist, 'qa', 'platform', 'namespace.qa.yaml'), 'kind: Namespace\n');
    const result = synth();
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('dist/qa: removed');
    expect(fs.existsSync(path.join(dist, 'dev', 'platform', 'configmap.prefect.leftover.yaml'))).toBe(false);
    expect(fs.existsSync(path.join(dist, 'qa'))).toBe(false);
    expect(fs.readdirSync(path.dirname(project)).filter((entry) => entry.startsWith('.dist-staging-'))).toEqual([]);
  });

  it('synthesizes one environment on request and leaves the others alone', () => {
    const prodBefore = treeHash(path.join(dist, 'prod'));
    fs.writeFileSync(path.join(dist, 'staging', 'platform', 'extra.yaml'), 'kind: ConfigMap\n');
    const result = synth('--env', 'prod');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^dist\/prod: \d+ objects/m);
    expect(fs.existsSync(path.join(dist, 'staging', 'platform', 'extra.yaml'))).toBe(true);
    expect(treeHash(path.join(dist, 'prod'))).toBe(prodBefore);
    fs.rmSync(path.join(dist, 'staging', 'platform', 'extra.yaml'));
  });

  it('fails on a requested environment without configuration and leaves dist/ unchanged', () => {
    const before = treeHash(dist);
    const result = synth('--env', 'qa');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('config/qa.yaml: no such file');
    expect(treeHash(dist)).toBe(before);
  });

  it('keeps dist/ unchanged when `cdk8s synth` runs on bad configuration', () => {
    const before = treeHash(dist);
    const restore = edit('config/dev.yaml', (text) => text.replace('mode: selfsigned', 'mode: self-signed'));
    try {
      const result = run('npx', ['cdk8s', 'synth', '--no-check-upgrade'], project);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('config/dev.yaml: tls.mode: expected a TLS mode');
      // The CLI's one-line verdict, not its stack trace.
      expect(result.stderr).toContain('ERROR: synthesis failed');
      expect(result.stderr).not.toMatch(/^\s+at /m);
      expect(treeHash(dist)).toBe(before);
    } finally {
      restore();
    }
  });

  it('writes dist/ through `cdk8s synth` as through make, and lists the manifests', () => {
    const before = treeHash(dist);
    const result = run('npx', ['cdk8s', 'synth', '--no-check-upgrade'], project);
    expect(result.status).toBe(0);
    // The app's report and warnings reach the terminal (the CLI discards the app's standard output).
    expect(result.stderr).toMatch(/^dist\/staging: warning: edge: tls\.mode is letsencrypt-staging/m);
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(treeHash(dist)).toBe(before);
    expect(fs.readdirSync(path.join(project, '.cdk8s.out')).sort()).toEqual([
      'dev.k8s.yaml',
      'oss.k8s.yaml',
      'prod.k8s.yaml',
      'staging.k8s.yaml',
    ]);
  });
});

describe('replaceFolders', () => {
  it('puts back a folder that an interrupted swap left in its staging folder', () => {
    const root = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'prefect-swap-'));
    try {
      const out = path.join(root, 'dist');
      fs.mkdirSync(path.join(out, 'prod'), { recursive: true });
      fs.writeFileSync(path.join(out, 'prod', 'a.yaml'), 'a');
      // A run (pid 999999999, no longer running) moved dev away and died before moving the new one in.
      fs.mkdirSync(path.join(root, '.dist-staging-999999999-x', 'old', 'dev'), { recursive: true });
      fs.writeFileSync(path.join(root, '.dist-staging-999999999-x', 'old', 'dev', 'b.yaml'), 'b');
      replaceFolders(out, new Map([['prod', new Map([['a.yaml', 'a']])]]));
      expect(fs.readFileSync(path.join(out, 'dev', 'b.yaml'), 'utf8')).toBe('b');
      expect(fs.readdirSync(root).sort()).toEqual(['dist']);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('leaves an unchanged folder untouched', () => {
    const root = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'prefect-swap-'));
    try {
      const out = path.join(root, 'dist');
      const tree = new Map([['prod', new Map([['layer/a.yaml', 'a']])]]);
      expect(replaceFolders(out, tree)).toEqual(['prod']);
      const inode = fs.statSync(path.join(out, 'prod')).ino;
      expect(replaceFolders(out, tree)).toEqual([]);
      expect(fs.statSync(path.join(out, 'prod')).ino).toBe(inode);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
