import { createHash } from 'node:crypto';

/** JSON with object keys sorted, so that equal values always give equal text. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item !== null && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}

/** A short hex digest of a value's content (SHA-256), for names and checksum annotations. */
export function contentHash(value: unknown, length = 64): string {
  const text = typeof value === 'string' ? value : stableJson(value);
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}
