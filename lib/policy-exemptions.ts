/*
 * Exemptions from the policy checks (style.md: kube-linter, Polaris, Pod Security Standards),
 * written on the object itself so that the policy suite and a reviewer read the same reason:
 * `prefect-cdk8s.io/exempt.<check>: <why>`.
 */
export const EXEMPTION_ANNOTATION_PREFIX = 'prefect-cdk8s.io/exempt.';

/** Annotations exempting an object from the named checks, each with its reason. */
export function exemptions(reasons: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(reasons).map(([check, reason]) => [`${EXEMPTION_ANNOTATION_PREFIX}${check}`, reason]));
}

/** Why a single-instance data server has one replica, no PodDisruptionBudget and no spread. */
export const SINGLE_INSTANCE_REASON =
  'a single-instance data server: a second replica would be a second, diverging server, and a PodDisruptionBudget would block every node drain; use the cloudnativepg provider (or an external service) for high availability';
