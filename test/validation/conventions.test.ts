import { describe, expect, it } from 'vitest';
import { LABEL, recommendedLabels, withVersion } from '../../lib/core/labels';
import type { KubernetesObject } from '../../lib/output/render';
import { checkConventions } from '../../lib/validation/conventions';

const stable = recommendedLabels('prod', { name: 'ui', component: 'api' });

function deployment(labels: Record<string, string>, podLabels: Record<string, string>): KubernetesObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'ui', namespace: 'prefect', labels },
    spec: { template: { metadata: { labels: podLabels }, spec: { containers: [] } } },
  } as unknown as KubernetesObject;
}

describe('the label conventions', () => {
  it('pass a workload with its version and pods with the stable labels, and another object with the stable labels', () => {
    expect(checkConventions(deployment(withVersion(stable, '2026.11.1'), stable))).toEqual([]);
    expect(
      checkConventions({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'ui', labels: stable } } as KubernetesObject),
    ).toEqual([]);
  });

  it('fail a workload without its version, and pods without a stable label', () => {
    const { [LABEL.component]: _component, ...withoutComponent } = stable;
    expect(checkConventions(deployment(stable, withoutComponent))).toEqual([
      `metadata.labels: missing ${LABEL.version}`,
      `spec.template.metadata.labels: missing ${LABEL.component}`,
    ]);
  });

  it('fail the version on pods, and on an object that is not a workload', () => {
    const versioned = withVersion(stable, '2026.11.1');
    expect(checkConventions(deployment(versioned, versioned))).toEqual([
      `spec.template.metadata.labels: ${LABEL.version} belongs on the workload, not on its pods (a version bump must not change the pods' labels)`,
    ]);
    const [problem] = checkConventions({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'ui', labels: versioned },
    } as KubernetesObject);
    expect(problem).toMatch(/^metadata\.labels: app\.kubernetes\.io\/version belongs only on workloads \(.*\), not on a Service$/);
  });
});
