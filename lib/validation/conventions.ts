import { RECOMMENDED_LABEL_KEYS } from '../core/labels';
import type { KubernetesObject } from '../output/render';

/** Paths of the pod templates inside workload kinds. */
const POD_TEMPLATE_PATHS: Record<string, readonly string[]> = {
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

/**
 * The project's own contract for every object: the recommended labels on the object and on its
 * pod template. Names without hashes are enforced where objects are created.
 */
export function checkConventions(object: KubernetesObject): string[] {
  const problems: string[] = [];
  const missing = (labels: Record<string, string> | undefined) => RECOMMENDED_LABEL_KEYS.filter((key) => !labels?.[key]);
  const objectMissing = missing(object.metadata.labels);
  if (objectMissing.length > 0) problems.push(`metadata.labels: missing ${objectMissing.join(', ')}`);
  const templatePath = POD_TEMPLATE_PATHS[object.kind];
  if (templatePath) {
    const template = templatePath.reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], object) as
      | { metadata?: { labels?: Record<string, string> } }
      | undefined;
    const templateMissing = missing(template?.metadata?.labels);
    if (templateMissing.length > 0) problems.push(`${templatePath.join('.')}.metadata.labels: missing ${templateMissing.join(', ')}`);
  }
  return problems;
}
