/*
 * The policy suite's exemptions. An object is exempted by the tool's own annotation, as the real
 * kube-linter and Polaris read them (so that either tool, run over dist/, agrees):
 *
 *   metadata.annotations:
 *     ignore-check.kube-linter.io/<check>: "<reason, at least 10 characters>"
 *     polaris.fairwinds.com/<check>-exempt: "true"
 *
 * Polaris reads only "true", so its reason stays beside the annotation in the code that sets it
 * (exemption-annotations.ts). A second way, for objects this project does not generate, is an
 * entry in EXEMPTIONS below. Both are verified on every run: a missing reason, an unknown check,
 * a check of the other tool, or an exemption that waives nothing (stale) fails the run.
 */
export const KUBE_LINTER_EXEMPTION_PREFIX = 'ignore-check.kube-linter.io/';
export const POLARIS_EXEMPTION_PREFIX = 'polaris.fairwinds.com/';
export const POLARIS_EXEMPTION_SUFFIX = '-exempt';
export const MINIMUM_REASON_LENGTH = 10;

/** The exemption an annotation expresses, if it is one of the tools' exemption annotations. */
export function exemptionAnnotation(key: string): { readonly tool: 'kube-linter' | 'polaris'; readonly check: string } | undefined {
  if (key.startsWith(KUBE_LINTER_EXEMPTION_PREFIX)) return { tool: 'kube-linter', check: key.slice(KUBE_LINTER_EXEMPTION_PREFIX.length) };
  if (key.startsWith(POLARIS_EXEMPTION_PREFIX) && key.endsWith(POLARIS_EXEMPTION_SUFFIX)) {
    return { tool: 'polaris', check: key.slice(POLARIS_EXEMPTION_PREFIX.length, -POLARIS_EXEMPTION_SUFFIX.length) };
  }
  return undefined;
}

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

/** None today: every object exempted is generated here, and carries its exemptions itself. */
export const EXEMPTIONS: readonly Exemption[] = [];

export const DISABLED_CHECKS: readonly DisabledCheck[] = [
  {
    check: 'cpuLimitsMissing',
    reason:
      'CPU limits are deliberately not set: the CFS quota throttles a container that exceeds its limit even on an idle node, which shows up as latency spikes and failed probes; CPU requests (cpuRequestsMissing, unset-cpu-requirements) reserve capacity and memory limits (memoryLimitsMissing, unset-memory-requirements) bound what cannot be throttled',
  },
];
