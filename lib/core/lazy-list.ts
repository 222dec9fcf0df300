import { Lazy } from 'cdk8s';

/**
 * A list computed at synthesis, typed as the list it becomes. Relation methods (grantDatabase,
 * allowFrom) run after a server's policies are constructed; the policies read what they recorded
 * only when the chart is rendered. The generated L1 classes resolve lazy values before they
 * convert their props to JSON, so this may stand anywhere a typed list is expected.
 */
export function lazyList<T>(produce: () => readonly T[]): T[] {
  return Lazy.any({ produce: () => [...produce()] }) as unknown as T[];
}
