/*
 * The policy suite's exemptions: the one file where a check is waived for chosen objects, each
 * entry with its reason. The other way to exempt an object is an annotation on the object itself:
 *
 *   metadata.annotations:
 *     prefect-cdk8s.io/exempt.<check-name>: "<reason, at least 10 characters>"
 *
 * Both are verified on every run: a reason shorter than MINIMUM_REASON_LENGTH, an unknown check
 * name, or an exemption that waives nothing (stale) fails the run.
 */
export const EXEMPTION_ANNOTATION_PREFIX = 'prefect-cdk8s.io/exempt.';
export const MINIMUM_REASON_LENGTH = 10;

export interface Exemption {
  /** The check's name, exactly as the report prints it. */
  readonly check: string;
  /** The exempted objects' kind. */
  readonly kind: string;
  /**
   * The exempted object's name, or a pattern over names.
   * @default - every object of the kind (narrowed by the fields below)
   */
  readonly name?: string | RegExp;
  /** @default - any namespace */
  readonly namespace?: string;
  /**
   * Only objects whose pod template carries all of these labels.
   * @default - no condition on labels
   */
  readonly podTemplateLabels?: Readonly<Record<string, string>>;
  /** @default - every environment */
  readonly environments?: readonly string[];
  /** Why the check does not apply: shown in the report and reviewed in pull requests. */
  readonly reason: string;
}

/** A check switched off for every object, with the reason in one place. */
export interface DisabledCheck {
  readonly check: string;
  readonly reason: string;
}

/*
 * Jobs under GitOps keep no TTL: each Job says why in its own
 * annotation (lib/flux/hashed-job.ts, JOB_TTL_EXEMPTION), the one place for that reason.
 */
const JOB_PROBE_REASON =
  'a Job runs to completion and serves nothing: a liveness or readiness probe has no meaning there (Polaris excludes Jobs from its probe checks for the same reason)';

export const EXEMPTIONS: readonly Exemption[] = [
  // Loop services (one replica, never two at once) need none: they run as a StatefulSet of one,
  // which deploymentMissingReplicas and missingPodDisruptionBudget do not cover (Deployments
  // only, as upstream), and no-anti-affinity and the HPA checks apply only to 2+ replicas or to
  // an autoscaler. Autoscaled Deployments carry no replica count and pass
  // deploymentMissingReplicas by their HPA (checks/polaris.ts).
  { check: 'no-liveness-probe', kind: 'Job', reason: JOB_PROBE_REASON },
  { check: 'no-readiness-probe', kind: 'Job', reason: JOB_PROBE_REASON },
];

export const DISABLED_CHECKS: readonly DisabledCheck[] = [
  {
    check: 'cpuLimitsMissing',
    reason:
      'CPU limits are deliberately not set: the CFS quota throttles a container that exceeds its limit even on an idle node, which shows up as latency spikes and failed probes; CPU requests (cpuRequestsMissing, unset-cpu-requirements) reserve capacity and memory limits (memoryLimitsMissing, unset-memory-requirements) bound what cannot be throttled',
  },
];
