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

  it('compares named lists by name, shows a replaced hash-named Job as one change, marks a refused update, and includes the READMEs', () => {
    const dist = path.join(project, 'dist', 'prod');
    const edit = (file: string, from: string | RegExp, to: string) => {
      const text = fs.readFileSync(path.join(dist, file), 'utf8');
      const next = text.replace(from, to);
      expect(next).not.toBe(text);
      fs.writeFileSync(path.join(dist, file), next);
    };
    // A variable of one container, found by name although the list is a list.
    edit('prefect/deployment.prefect.ui.yaml', /(- name: CLOUD_API_URL\n\s+value: )\S+/, '$1https://api.changed.example.com');
    // A storage class: the API server refuses it on update.
    edit('data/statefulset.prefect-data.postgres.yaml', 'storageClassName: gp3', 'storageClassName: io2');
    // A migration Job renamed by its new hash.
    const job = fs.readdirSync(path.join(dist, 'migrations')).find((file) => file.startsWith('job.prefect-data.migrate-orion-')) as string;
    const renamed = job.replace(/-[0-9a-f]{10}\.yaml$/, '-0123456789.yaml');
    fs.renameSync(path.join(dist, 'migrations', job), path.join(dist, 'migrations', renamed));
    edit(`migrations/${renamed}`, /name: migrate-orion-[0-9a-f]{10}/, 'name: migrate-orion-0123456789');
    edit('README.md', /^# .*$/m, '# prod, changed');

    const result = run('npx', ['tsx', 'scripts/dist-diff.ts'], project);
    expect(result.status, result.stderr).toBe(0);
    const out = result.stdout;
    expect(out).toMatch(
      /spec\.template\.spec\.containers\[name=ui\]\.env\[name=CLOUD_API_URL\]\.value: "https:\/\/api\.prefect\.example\.com" -> "https:\/\/api\.changed\.example\.com"/,
    );
    expect(out).toContain('~ prod: StatefulSet prefect-data/postgres (dist/prod/data/statefulset.prefect-data.postgres.yaml)');
    expect(out).toContain('  ! spec.volumeClaimTemplates: the API server refuses to update it');
    expect(out).toContain(
      `~ prod: Job prefect-data/migrate-orion-0123456789 (dist/prod/migrations/${renamed}, replaced by a new hash-named Job (was ${job}))`,
    );
    expect(out).not.toContain(`- prod: Job prefect-data/migrate-orion`);
    expect(out).toContain('~ dist/prod/README.md');
    expect(out).toContain('    +# prod, changed');
  });
});
