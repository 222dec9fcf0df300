/*
 * Runs the policy suite over the objects of one or more environments: every check on every object
 * it applies to, exemptions applied and verified, and a report (a table of checks with passed,
 * exempted and failed objects, then every failure). Pure: the caller reads the files.
 */
import { CheckContext, type CheckOrigin, type PolicyCheck } from './check';
import { findCheck, POLICY_CHECKS } from './checks/index';
import { DISABLED_CHECKS, EXEMPTIONS, exemptionAnnotation, MINIMUM_REASON_LENGTH, type DisabledCheck, type Exemption } from './exemptions';
import { describe, podTemplateOf, type PolicyObject } from './model';

/** One environment's objects, each with the file it came from when there is one. */
export interface PolicyInput {
  readonly environment: string;
  readonly objects: ReadonlyArray<{ readonly object: PolicyObject; readonly file?: string }>;
}

export interface PolicyOptions {
  /** @default POLICY_CHECKS */
  readonly checks?: readonly PolicyCheck[];
  /** @default EXEMPTIONS (lib/policy/exemptions.ts) */
  readonly exemptions?: readonly Exemption[];
  /** @default DISABLED_CHECKS (lib/policy/exemptions.ts) */
  readonly disabled?: readonly DisabledCheck[];
  /**
   * Report entries of the exemptions file that waived nothing. Only meaningful when the run
   * covers every environment (an entry may be needed by an environment left out).
   * @default true
   */
  readonly reportStaleExemptions?: boolean;
}

export interface Finding {
  readonly check: string;
  readonly origin: CheckOrigin;
  readonly environment: string;
  /** The file (`dist/<env>/<layer>/<file>`), or `<env>: Kind namespace/name`. */
  readonly where: string;
  readonly object: PolicyObject;
  readonly message: string;
}

export interface ExemptedFinding extends Finding {
  /** `annotation <key>` or `exemptions file`. */
  readonly exemptedBy: string;
  readonly reason: string;
}

export interface CheckRow {
  readonly check: string;
  readonly origin: CheckOrigin;
  readonly description: string;
  /** Objects that passed, were exempted, failed (summed over environments). */
  readonly passed: number;
  readonly exempted: number;
  readonly failed: number;
  /** Set when the check is switched off (DISABLED_CHECKS). */
  readonly disabled?: string;
}

export interface PolicyReport {
  readonly environments: readonly string[];
  readonly objectCount: number;
  readonly rows: readonly CheckRow[];
  readonly failures: readonly Finding[];
  readonly exempted: readonly ExemptedFinding[];
  /** Exemptions without a reason, naming no check, or waiving nothing. */
  readonly exemptionProblems: readonly string[];
  /** No failure and no exemption problem. */
  readonly ok: boolean;
}

interface Located {
  readonly environment: string;
  readonly object: PolicyObject;
  readonly where: string;
}

function validReason(reason: unknown): reason is string {
  return typeof reason === 'string' && reason.trim().length >= MINIMUM_REASON_LENGTH;
}

function exemptionLabel(exemption: Exemption): string {
  const name = exemption.name === undefined ? '*' : exemption.name instanceof RegExp ? String(exemption.name) : exemption.name;
  const extras = [
    exemption.namespace ? `namespace ${exemption.namespace}` : '',
    exemption.podTemplateLabels
      ? `pods labelled ${Object.entries(exemption.podTemplateLabels)
          .map(([key, value]) => `${key}=${value}`)
          .join(',')}`
      : '',
    exemption.environments ? `in ${exemption.environments.join(', ')}` : '',
  ].filter(Boolean);
  return `exemptions file: ${exemption.check} for ${exemption.kind} ${name}${extras.length > 0 ? ` (${extras.join('; ')})` : ''}`;
}

function exemptionMatches(exemption: Exemption, located: Located): boolean {
  const { object } = located;
  if (exemption.kind !== object.kind) return false;
  if (exemption.environments && !exemption.environments.includes(located.environment)) return false;
  if (exemption.namespace !== undefined && exemption.namespace !== object.metadata.namespace) return false;
  if (
    exemption.name instanceof RegExp
      ? !exemption.name.test(object.metadata.name)
      : exemption.name !== undefined && exemption.name !== object.metadata.name
  )
    return false;
  if (exemption.podTemplateLabels) {
    const labels = podTemplateOf(object)?.labels;
    if (!labels || !Object.entries(exemption.podTemplateLabels).every(([key, value]) => labels[key] === value)) return false;
  }
  return true;
}

/** Runs every (enabled) check over every environment; see PolicyReport. */
export function runPolicy(inputs: readonly PolicyInput[], options: PolicyOptions = {}): PolicyReport {
  const checks = options.checks ?? POLICY_CHECKS;
  const exemptions = options.exemptions ?? EXEMPTIONS;
  const disabled = new Map((options.disabled ?? DISABLED_CHECKS).map((entry) => [entry.check, entry] as const));
  const known = (name: string) => checks.some((check) => check.name === name) || findCheck(name) !== undefined;
  const problems: string[] = [];

  for (const entry of disabled.values()) {
    if (!known(entry.check)) problems.push(`disabled checks: "${entry.check}" is not a check of the suite`);
    if (!validReason(entry.reason))
      problems.push(`disabled checks: ${entry.check} has no reason (at least ${MINIMUM_REASON_LENGTH} characters)`);
  }
  const usableExemptions = exemptions.filter((exemption) => {
    let usable = true;
    if (!known(exemption.check)) {
      problems.push(`${exemptionLabel(exemption)}: "${exemption.check}" is not a check of the suite`);
      usable = false;
    }
    if (!validReason(exemption.reason)) {
      problems.push(`${exemptionLabel(exemption)}: no reason (at least ${MINIMUM_REASON_LENGTH} characters) — the exemption is ignored`);
      usable = false;
    }
    return usable;
  });
  const usedExemptions = new Set<Exemption>();

  const rows = new Map<string, { passed: number; exempted: number; failed: number }>(
    checks.map((check) => [check.name, { passed: 0, exempted: 0, failed: 0 }]),
  );
  const failures: Finding[] = [];
  const exempted: ExemptedFinding[] = [];
  let objectCount = 0;

  for (const input of inputs) {
    const located: Located[] = input.objects.map(({ object, file }) => ({
      environment: input.environment,
      object,
      where: file ?? `${input.environment}: ${describe(object)}`,
    }));
    objectCount += located.length;
    const context = new CheckContext(located.map(({ object }) => object));

    // Annotation exemptions: verified up front, marked used when they waive a failure.
    const annotations = new Map<Located, Map<string, { key: string; reason: string; used: boolean }>>();
    for (const entry of located) {
      const own = new Map<string, { key: string; reason: string; used: boolean }>();
      for (const [key, value] of Object.entries(entry.object.metadata.annotations ?? {})) {
        const exemption = exemptionAnnotation(key);
        if (exemption === undefined) continue;
        const check = checks.find((candidate) => candidate.name === exemption.check) ?? findCheck(exemption.check);
        if (check === undefined || check.origin !== exemption.tool)
          problems.push(`${entry.where}: annotation ${key} names no ${exemption.tool} check of the suite`);
        else if (exemption.tool === 'polaris' && value !== 'true')
          problems.push(
            `${entry.where}: annotation ${key} is ${JSON.stringify(value)}; Polaris reads only "true" — the exemption is ignored`,
          );
        else if (exemption.tool === 'kube-linter' && !validReason(value))
          problems.push(
            `${entry.where}: annotation ${key} has no reason (at least ${MINIMUM_REASON_LENGTH} characters) — the exemption is ignored`,
          );
        else
          own.set(exemption.check, {
            key,
            reason: exemption.tool === 'polaris' ? 'the reason is beside it in the code' : value,
            used: false,
          });
      }
      for (const key of Object.keys(podTemplateOf(entry.object)?.annotations ?? {})) {
        if (exemptionAnnotation(key) !== undefined)
          problems.push(
            `${entry.where}: annotation ${key} is on the pod template; exemptions belong in the object's own metadata.annotations`,
          );
      }
      if (own.size > 0) annotations.set(entry, own);
    }

    for (const check of checks) {
      if (disabled.has(check.name)) continue;
      const row = rows.get(check.name) as { passed: number; exempted: number; failed: number };
      for (const entry of located) {
        if (!check.appliesTo(entry.object)) continue;
        const messages = check.evaluate(entry.object, context);
        if (messages.length === 0) {
          row.passed++;
          continue;
        }
        const annotation = annotations.get(entry)?.get(check.name);
        const fileExemption = usableExemptions.filter((exemption) => exemption.check === check.name && exemptionMatches(exemption, entry));
        for (const exemption of fileExemption) usedExemptions.add(exemption);
        if (annotation) annotation.used = true;
        const findings = messages.map((message) => ({
          check: check.name,
          origin: check.origin,
          environment: entry.environment,
          where: entry.where,
          object: entry.object,
          message,
        }));
        if (annotation || fileExemption.length > 0) {
          row.exempted++;
          const exemptedBy = annotation ? `annotation ${annotation.key}` : 'exemptions file';
          const reason = annotation ? annotation.reason : (fileExemption[0] as Exemption).reason;
          exempted.push(...findings.map((finding) => ({ ...finding, exemptedBy, reason })));
        } else {
          row.failed++;
          failures.push(...findings);
        }
      }
    }

    for (const [entry, own] of annotations) {
      for (const [name, { key, used }] of own) {
        if (used) continue;
        const check = checks.find((candidate) => candidate.name === name);
        const why = disabled.has(name)
          ? 'the check is disabled'
          : !check
            ? 'the check is not part of this run'
            : !check.appliesTo(entry.object)
              ? `the check does not apply to a ${entry.object.kind}`
              : 'the object passes the check';
        problems.push(`${entry.where}: annotation ${key} waives nothing (${why}): remove the stale exemption`);
      }
    }
  }

  if (options.reportStaleExemptions ?? true) {
    const environments = inputs.map((input) => input.environment);
    for (const exemption of usableExemptions) {
      const inScope = exemption.environments
        ? exemption.environments.some((environment) => environments.includes(environment))
        : environments.length > 0;
      if (inScope && !usedExemptions.has(exemption) && !disabled.has(exemption.check)) {
        problems.push(
          `${exemptionLabel(exemption)}: waives nothing in ${environments.join(', ')} (no matching object fails the check): remove or narrow the stale exemption`,
        );
      }
    }
  }

  const reportRows: CheckRow[] = checks.map((check) => {
    const counts = rows.get(check.name) as { passed: number; exempted: number; failed: number };
    const off = disabled.get(check.name);
    return { check: check.name, origin: check.origin, description: check.description, ...counts, ...(off ? { disabled: off.reason } : {}) };
  });
  return {
    environments: inputs.map((input) => input.environment),
    objectCount,
    rows: reportRows,
    failures,
    exempted,
    exemptionProblems: problems,
    ok: failures.length === 0 && problems.length === 0,
  };
}

/** Runs one check over one environment's objects (for tests): the messages per object that fails. */
export function runCheck(
  check: PolicyCheck | string,
  objects: readonly PolicyObject[],
): Array<{ object: PolicyObject; messages: string[] }> {
  const resolved = typeof check === 'string' ? findCheck(check) : check;
  if (!resolved) throw new Error(`no policy check is named ${JSON.stringify(check)}`);
  const context = new CheckContext(objects);
  return objects
    .filter((object) => resolved.appliesTo(object))
    .map((object) => ({ object, messages: resolved.evaluate(object, context) }))
    .filter(({ messages }) => messages.length > 0);
}

/** The report as text: the table, then failures, exemption problems and exemptions. */
export function formatReport(report: PolicyReport, options: { readonly listExempted?: boolean } = {}): string {
  const lines: string[] = [];
  const checkWidth = Math.max(5, ...report.rows.map((row) => row.check.length));
  const originWidth = Math.max(6, ...report.rows.map((row) => row.origin.length));
  const number = (value: number) => String(value).padStart(8);
  lines.push(
    `Policy suite: ${report.rows.length} checks over ${report.objectCount} objects (${report.environments.join(', ') || 'no environment'})`,
    '',
  );
  lines.push(
    `${'check'.padEnd(checkWidth)}  ${'origin'.padEnd(originWidth)}  ${'passed'.padStart(8)}${'exempted'.padStart(9)}${'failed'.padStart(8)}`,
  );
  for (const row of report.rows) {
    const counts = row.disabled
      ? `  disabled (see DISABLED_CHECKS in lib/policy/exemptions.ts)`
      : `${number(row.passed)} ${number(row.exempted)}${number(row.failed)}${row.failed > 0 ? '  <-- FAILED' : ''}`;
    lines.push(`${row.check.padEnd(checkWidth)}  ${row.origin.padEnd(originWidth)}  ${counts}`);
  }
  if (report.failures.length > 0) {
    lines.push('', `Failures (${report.failures.length}):`);
    for (const failure of report.failures) lines.push(`${failure.check}: ${failure.where}: ${failure.message}`);
  }
  if (report.exemptionProblems.length > 0) {
    lines.push('', `Exemption problems (${report.exemptionProblems.length}):`);
    for (const problem of report.exemptionProblems) lines.push(problem);
  }
  if (options.listExempted && report.exempted.length > 0) {
    lines.push('', `Exempted (${report.exempted.length}):`);
    for (const finding of report.exempted)
      lines.push(`${finding.check}: ${finding.where}: ${finding.message} [${finding.exemptedBy}: ${finding.reason}]`);
  }
  const exemptedObjects = report.rows.reduce((sum, row) => sum + row.exempted, 0);
  lines.push(
    '',
    report.ok
      ? `policy: passed (${exemptedObjects} exempted)`
      : `policy: FAILED: ${report.failures.length} violation(s) in ${report.rows.filter((row) => row.failed > 0).length} check(s), ${report.exemptionProblems.length} exemption problem(s)`,
  );
  return lines.join('\n');
}
