import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyProject, removeProjectCopy, run } from '../helpers';

describe('make diff', () => {
  let project: string;
  beforeAll(() => {
    project = copyProject();
    const git = (...args: string[]) => run('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], project);
    git('init', '-q');
    git('add', 'dist');
    expect(git('commit', '-qm', 'dist').status).toBe(0);
  });
  afterAll(() => removeProjectCopy(project));

  it('lists added, removed and changed objects with the changed fields', () => {
    const platform = path.join(project, 'dist', 'prod', 'platform');
    const namespaceFile = path.join(platform, 'namespace.prefect.yaml');
    fs.writeFileSync(
      namespaceFile,
      fs
        .readFileSync(namespaceFile, 'utf8')
        .replace('pod-security.kubernetes.io/enforce: restricted', 'pod-security.kubernetes.io/enforce: baseline'),
    );
    fs.rmSync(path.join(platform, 'namespace.cert-manager.yaml'));
    fs.writeFileSync(
      path.join(platform, 'configmap.prefect.extra.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: prefect\n',
    );
    const result = run('npx', ['tsx', 'scripts/dist-diff.ts'], project);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('dist/ against HEAD: 1 added, 1 removed, 1 changed');
    expect(result.stdout).toContain('+ prod: ConfigMap prefect/extra (dist/prod/platform/configmap.prefect.extra.yaml)');
    expect(result.stdout).toContain('- prod: Namespace cert-manager (dist/prod/platform/namespace.cert-manager.yaml)');
    expect(result.stdout).toContain('~ prod: Namespace prefect (dist/prod/platform/namespace.prefect.yaml)');
    expect(result.stdout).toContain('    metadata.labels.pod-security.kubernetes.io/enforce: "restricted" -> "baseline"');
  });
});
