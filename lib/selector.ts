import { LABEL } from './labels';

/**
 * The stable subset of an object's recommended labels that selects its pods: name and instance,
 * never the version (selectors are immutable, and the version changes on upgrade).
 */
export function selectorFor(labels: Readonly<Record<string, string>>): Record<string, string> {
  const name = labels[LABEL.name];
  const instance = labels[LABEL.instance];
  if (!name || !instance) throw new Error(`expected the recommended labels ${LABEL.name} and ${LABEL.instance}, got ${JSON.stringify(labels)}`);
  return { [LABEL.name]: name, [LABEL.instance]: instance };
}
