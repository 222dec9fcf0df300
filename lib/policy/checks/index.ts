import type { PolicyCheck } from '../check';
import { KUBE_LINTER_CHECKS } from './kube-linter';
import { POLARIS_CHECKS } from './polaris';

/** Every check of the policy suite, in report order. */
export const POLICY_CHECKS: readonly PolicyCheck[] = [...KUBE_LINTER_CHECKS, ...POLARIS_CHECKS];

const BY_NAME = new Map(POLICY_CHECKS.map((check) => [check.name, check] as const));
if (BY_NAME.size !== POLICY_CHECKS.length) throw new Error('two policy checks share a name');

export function findCheck(name: string): PolicyCheck | undefined {
  return BY_NAME.get(name);
}

export { KUBE_LINTER_CHECKS, POLARIS_CHECKS };
