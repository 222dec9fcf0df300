import { RECOMMENDED_LABEL_KEYS } from '../core/labels';
import type { KubernetesObject } from '../output/render';
import { POD_TEMPLATE_PATHS } from '../core/kubernetes-object';

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
