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
import { LABEL } from '../labels';

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

/** Loop services (design.md, style.md): exactly one replica, Recreate strategy, never two at once. */
const LOOP_SERVICE = { [LABEL.component]: 'loop' } as const;
const LOOP_REASON =
  'loop services are singletons by design: exactly one replica with the Recreate strategy, because two running at once would process the same work twice';

/** Jobs under GitOps (design.md §3 "Jobs under GitOps"). */
const JOB_TTL_REASON =
  'init and migration Jobs are idempotent, named after a hash of their pod template and kept: a TTL deletes the finished Job and Flux, re-applying desired state, would recreate and rerun it';
const JOB_PROBE_REASON = 'a Job runs to completion and serves nothing: a liveness or readiness probe has no meaning there (Polaris excludes Jobs from its probe checks for the same reason)';

export const EXEMPTIONS: readonly Exemption[] = [
  // A single replica is the point of a loop service; it therefore has no budget either (a budget
  // allowing one disruption of one pod protects nothing, one allowing none blocks node drains).
  // no-anti-affinity and the HPA checks need no exemption: they only apply to 2+ replicas or to
  // an autoscaler, and loop services have neither.
  { check: 'deploymentMissingReplicas', kind: 'Deployment', podTemplateLabels: LOOP_SERVICE, reason: LOOP_REASON },
  { check: 'missingPodDisruptionBudget', kind: 'Deployment', podTemplateLabels: LOOP_SERVICE, reason: LOOP_REASON },

  { check: 'job-ttl-seconds-after-finished', kind: 'Job', reason: JOB_TTL_REASON },
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
