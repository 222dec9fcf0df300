import { EXEMPTION_ANNOTATION_PREFIX } from './exemptions';

/*
 * Exemptions from the policy checks (lib/policy), written on the object itself so that the policy
 * suite and a reviewer read the same reason: `prefect-cdk8s.io/exempt.<check>: <why>`. The suite
 * fails on an exemption that waives nothing.
 */

/** Annotations exempting an object from the named checks, each with its reason. */
export function exemptions(reasons: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(reasons).map(([check, reason]) => [`${EXEMPTION_ANNOTATION_PREFIX}${check}`, reason]));
}

/** Why the single-instance PostgreSQL has one replica and no spread. */
export const SINGLE_INSTANCE_REASON =
  'a single-instance PostgreSQL: a second replica would be a second, diverging server; use the cloudnativepg provider (replicas spread over zones) or an external service for high availability';
