import { LABEL, STABLE_LABEL_KEYS, VERSIONED_KINDS } from '../core/labels';
import type { KubernetesObject } from '../output/render';
import { POD_TEMPLATE_PATHS } from '../core/kubernetes-object';

/**
 * The project's own contract for every object: the stable recommended labels on the object and on
 * its pod template; the version label on the workloads (VERSIONED_KINDS) and nowhere else, so
 * that a version bump changes only what it upgrades. Names without hashes are enforced where
 * objects are created.
 */
export function checkConventions(object: KubernetesObject): string[] {
  const problems: string[] = [];
  const missing = (labels: Record<string, string> | undefined) => STABLE_LABEL_KEYS.filter((key) => !labels?.[key]);
  const objectMissing = missing(object.metadata.labels);
  const versioned = VERSIONED_KINDS.has(object.kind);
  if (versioned && !object.metadata.labels?.[LABEL.version]) objectMissing.push(LABEL.version);
  if (objectMissing.length > 0) problems.push(`metadata.labels: missing ${objectMissing.join(', ')}`);
  if (!versioned && object.metadata.labels?.[LABEL.version] !== undefined) {
    problems.push(
      `metadata.labels: ${LABEL.version} belongs only on workloads (${[...VERSIONED_KINDS].join(', ')}), not on a ${object.kind}`,
    );
  }
  const templatePath = POD_TEMPLATE_PATHS[object.kind];
  if (templatePath) {
    const template = templatePath.reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], object) as
      | { metadata?: { labels?: Record<string, string> } }
      | undefined;
    const templateMissing = missing(template?.metadata?.labels);
    if (templateMissing.length > 0) problems.push(`${templatePath.join('.')}.metadata.labels: missing ${templateMissing.join(', ')}`);
    if (template?.metadata?.labels?.[LABEL.version] !== undefined) {
      problems.push(
        `${templatePath.join('.')}.metadata.labels: ${LABEL.version} belongs on the workload, not on its pods (a version bump must not change the pods' labels)`,
      );
    }
  }
  return problems;
}
