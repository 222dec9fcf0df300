/*
 * Go durations ("30s", "1h30m", "500ms"), as Istio, cert-manager and Flux read them.
 */

/** A Go duration: one or more amounts with a unit, "1h30m". */
export const GO_DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;

const UNIT_MILLISECONDS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };

/** The duration in milliseconds, or undefined when `value` is not a Go duration. */
export function durationMilliseconds(value: string): number | undefined {
  if (!GO_DURATION.test(value)) return undefined;
  let total = 0;
  for (const [, amount, unit] of value.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(amount) * (UNIT_MILLISECONDS[unit as string] as number);
  }
  return total;
}
