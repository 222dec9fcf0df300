/*
 * Kubernetes resource quantities ("500m", "2Gi", "1.5", "1e3"), as the API server reads them.
 */

const NUMBER = String.raw`(?:\d+(?:\.\d*)?|\.\d+)`;
const EXPONENT_OR_SUFFIX = String.raw`(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?`;
const QUANTITY = new RegExp(`^([+-]?${NUMBER})${EXPONENT_OR_SUFFIX}$`);

/**
 * A quantity above zero: no minus sign, and a digit other than 0 in the number (past any leading
 * zeros and the point) — whatever the exponent or suffix, the value is then positive.
 */
export const POSITIVE_QUANTITY = new RegExp(`^(?=\\+?0*\\.?0*[1-9])(\\+?${NUMBER})${EXPONENT_OR_SUFFIX}$`);

const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

export function isQuantity(value: string): boolean {
  return QUANTITY.test(value);
}

/** The quantity's value in base units (cores for CPU, bytes for memory). */
export function parseQuantity(value: string | number): number {
  if (typeof value === 'number') return value;
  const match = QUANTITY.exec(value);
  if (!match) {
    throw new Error(`expected a Kubernetes quantity such as "2Gi" or "500m", got ${JSON.stringify(value)}`);
  }
  const [, number, exponent, suffix] = match;
  const base = Number(number);
  if (exponent) return base * 10 ** Number(exponent.slice(1));
  return suffix ? base * (SUFFIX[suffix] ?? 1) : base;
}

/** Formats bytes as the largest binary unit that keeps a whole number, e.g. 2147483648 → "2Gi". */
export function formatBytes(bytes: number): string {
  for (const unit of ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki'] as const) {
    const size = SUFFIX[unit] as number;
    if (bytes >= size && Number.isInteger(bytes / size)) return `${bytes / size}${unit}`;
  }
  return String(Math.round(bytes));
}
