/*
 * The longest wait between two runs of a five-field cron schedule (minute hour day-of-month month
 * day-of-week; numbers, names, `*`, ranges, lists and steps, as Kubernetes CronJobs take them),
 * or of a six-field one with seconds first (CloudNativePG's), found by walking two years day by
 * day in UTC; and what is wrong with a schedule's fields.
 */

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface Field {
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  /** The first name's number (months: 1, days: 0). */
  readonly offset?: number;
}

const FIELDS: readonly Field[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: MONTHS, offset: 1 },
  { min: 0, max: 7, names: DAYS, offset: 0 },
];

function value(text: string, field: Field): number {
  const named = field.names?.indexOf(text.toLowerCase()) ?? -1;
  const number = named >= 0 ? named + (field.offset ?? 0) : Number(text);
  if (!Number.isInteger(number) || number < field.min || number > field.max)
    throw new Error(`"${text}" is not in ${field.min}–${field.max}`);
  return number;
}

function values(text: string, field: Field): Set<number> {
  const result = new Set<number>();
  for (const part of text.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new Error(`"${part}" has no valid step`);
    const [from, to] =
      range === '*'
        ? [field.min, field.max]
        : range.includes('-')
          ? (range.split('-').map((bound) => value(bound, field)) as [number, number])
          : [value(range, field), stepText === undefined ? value(range, field) : field.max];
    for (let n = from; n <= to; n += step) result.add(n);
  }
  return result;
}

const FIELD_NAMES = ['minute', 'hour', 'day of month', 'month', 'day of week'];

/**
 * What is wrong with a schedule's fields, or undefined: five fields, or six with seconds first
 * (CloudNativePG's), each of numbers or names in its range, `*`, ranges, lists and steps (and `?`
 * for "any" in the day fields of a six-field one, which its cron library takes).
 */
export function cronScheduleProblem(schedule: string, withSeconds = false): string | undefined {
  const parts = schedule.trim().split(/\s+/);
  const expected = withSeconds ? 6 : 5;
  if (parts.length !== expected) return `expected ${expected} fields, got ${parts.length}`;
  const fields = withSeconds ? [{ min: 0, max: 59 }, ...FIELDS] : FIELDS;
  const names = withSeconds ? ['second', ...FIELD_NAMES] : FIELD_NAMES;
  for (const [index, part] of parts.entries()) {
    const text = withSeconds && part === '?' && index >= 3 ? '*' : part;
    try {
      values(text, fields[index] as Field);
    } catch (error) {
      return `the ${names[index]} field "${part}": ${(error as Error).message}`;
    }
  }
  return undefined;
}

/**
 * Seconds of the longest gap between two consecutive runs; undefined if it runs less than twice
 * in two years. With `withSeconds`, a six-field schedule (CloudNativePG's): runs within a minute
 * count as that minute's, and `?` is "any".
 */
export function longestCronGapSeconds(schedule: string, withSeconds = false): number | undefined {
  const fields = schedule.trim().split(/\s+/);
  if (fields.length !== (withSeconds ? 6 : 5)) throw new Error(`expected ${withSeconds ? 'six' : 'five'} fields, got "${schedule}"`);
  const parts = withSeconds ? fields.slice(1).map((field) => (field === '?' ? '*' : field)) : fields;
  const [minutes, hours, days, months, weekdays] = parts.map((part, index) => values(part, FIELDS[index] as Field)) as Set<number>[];
  if (weekdays?.has(7)) weekdays.add(0);
  // Day of month and day of week: either matches when both are restricted (cron's rule).
  const domAny = parts[2] === '*';
  const dowAny = parts[4] === '*';
  const runs: number[] = [];
  const start = Date.UTC(2026, 0, 1);
  const times = [...(hours ?? [])]
    .sort((a, b) => a - b)
    .flatMap((hour) => [...(minutes ?? [])].sort((a, b) => a - b).map((m) => hour * 60 + m));
  // Two years, so that the gap across the turn of the year counts too.
  for (let day = 0; day < 2 * 366; day++) {
    const date = new Date(start + day * 86_400_000);
    if (!months?.has(date.getUTCMonth() + 1)) continue;
    const dom = days?.has(date.getUTCDate()) ?? false;
    const dow = weekdays?.has(date.getUTCDay()) ?? false;
    const dayMatches = domAny && dowAny ? true : domAny ? dow : dowAny ? dom : dom || dow;
    if (dayMatches) for (const time of times) runs.push(day * 24 * 60 + time);
  }
  if (runs.length < 2) return undefined;
  let longest = 0;
  for (let index = 1; index < runs.length; index++) longest = Math.max(longest, (runs[index] as number) - (runs[index - 1] as number));
  return longest * 60;
}
