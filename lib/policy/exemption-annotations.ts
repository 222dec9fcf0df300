import { KUBE_LINTER_EXEMPTION_PREFIX, MINIMUM_REASON_LENGTH, POLARIS_EXEMPTION_PREFIX, POLARIS_EXEMPTION_SUFFIX } from './exemptions';

/*
 * Exemptions from the policy checks (lib/policy), written on the object itself in each tool's
 * own annotation (see exemptions.ts), each with its reason here: the policy suite and the real
 * kube-linter and Polaris read the same annotations. The suite fails on an exemption that waives
 * nothing.
 */

export interface ExemptionReasons {
  /** kube-linter check names, each with why it does not apply. */
  readonly kubeLinter?: Readonly<Record<string, string>>;
  /** Polaris check IDs, each with why it does not apply (Polaris's annotation holds only "true"). */
  readonly polaris?: Readonly<Record<string, string>>;
}

/** Annotations exempting an object from the named checks. */
export function exemptions(reasons: ExemptionReasons): Record<string, string> {
  const annotations: Record<string, string> = {};
  for (const [tool, byCheck] of Object.entries(reasons) as Array<[keyof ExemptionReasons, Record<string, string>]>) {
    for (const [check, reason] of Object.entries(byCheck)) {
      if (reason.trim().length < MINIMUM_REASON_LENGTH) throw new Error(`the exemption from ${check} needs its reason`);
      if (tool === 'kubeLinter') annotations[`${KUBE_LINTER_EXEMPTION_PREFIX}${check}`] = reason;
      else annotations[`${POLARIS_EXEMPTION_PREFIX}${check}${POLARIS_EXEMPTION_SUFFIX}`] = 'true';
    }
  }
  return annotations;
}

/** Why the single-instance PostgreSQL has one replica and no spread. */
export const SINGLE_INSTANCE_REASON =
  'a single-instance PostgreSQL: a second replica would be a second, diverging server; use the cloudnativepg provider (replicas spread over zones) or an external service for high availability';

/** Why a server's exporter sidecar has no readiness probe (its server's container has one). */
export const EXPORTER_READINESS_REASON =
  "the metrics sidecar: a pod is ready only when all its containers are, so an exporter's readiness probe would take the server out of its Service whenever the exporter fails; the server's container has the readiness probe, the exporter a liveness probe";

/** The exemptions of a workload with an exporter sidecar. */
export const EXPORTER_EXEMPTIONS: ExemptionReasons = {
  kubeLinter: { 'no-readiness-probe': EXPORTER_READINESS_REASON },
  polaris: { readinessProbeMissing: EXPORTER_READINESS_REASON },
};

/** Why a Job has no probes (Polaris itself skips Jobs in its probe checks; kube-linter does not). */
export const JOB_PROBE_REASON =
  'a Job runs to completion and serves nothing: a liveness or readiness probe has no meaning there (Polaris excludes Jobs from its probe checks for the same reason)';
