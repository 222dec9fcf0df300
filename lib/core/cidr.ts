/*
 * CIDR ranges as a NetworkPolicy `ipBlock` takes them: parsed, checked to be network addresses
 * (no host bits set, as the API server's strict IP validation requires) and compared, so that an
 * `except` entry can be checked to lie strictly inside its `cidr` (the API rejects anything else).
 */

export interface Cidr {
  readonly family: 4 | 6;
  /** The address as an unsigned integer of 32 or 128 bits. */
  readonly address: bigint;
  readonly prefix: number;
}

const IPV4_OCTET = /^(0|[1-9]\d{0,2})$/;
const IPV6_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseIpv4(text: string): bigint | undefined {
  const octets = text.split('.');
  if (octets.length !== 4 || !octets.every((octet) => IPV4_OCTET.test(octet) && Number(octet) <= 255)) return undefined;
  return octets.reduce((value, octet) => (value << 8n) | BigInt(octet), 0n);
}

function parseIpv6(text: string): bigint | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (half: string | undefined) => (half === undefined || half === '' ? [] : half.split(':'));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...Array.from({ length: halves.length === 2 ? missing : 0 }, () => '0'), ...tail];
  if (!all.every((group) => IPV6_GROUP.test(group))) return undefined;
  return all.reduce((value, group) => (value << 16n) | BigInt(Number.parseInt(group, 16)), 0n);
}

const OCTET = String.raw`(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)`;
const GROUP = '[0-9a-fA-F]{1,4}';
const IPV6 = [
  `(?:${GROUP}:){7}${GROUP}`,
  ...[1, 2, 3, 4, 5, 6].map((head) => `(?:${GROUP}:){1,${head}}(?::${GROUP}){1,${7 - head}}`),
  `(?:${GROUP}:){1,7}:`,
  `:(?:(?::${GROUP}){1,7}|:)`,
].join('|');

/**
 * What `parseCidr` takes, as one regular expression (for the editor's JSON Schema): an IPv4 range
 * with a prefix of 0–32, or an IPv6 range in its standard notation with a prefix of 0–128.
 */
export const CIDR_PATTERN = new RegExp(
  String.raw`^(?:(?:${OCTET}\.){3}${OCTET}/(?:3[0-2]|[12]?\d)|(?:${IPV6})/(?:12[0-8]|1[01]\d|[1-9]?\d))$`,
);

/** Parses "a.b.c.d/n" or an IPv6 "x:y::z/n"; undefined when it is not a CIDR range. */
export function parseCidr(text: string): Cidr | undefined {
  const [address, prefix, ...rest] = text.split('/');
  if (rest.length > 0 || address === undefined || prefix === undefined || !/^(0|[1-9]\d{0,2})$/.test(prefix)) return undefined;
  const bits = Number(prefix);
  const v4 = parseIpv4(address);
  if (v4 !== undefined) return bits <= 32 ? { family: 4, address: v4, prefix: bits } : undefined;
  const v6 = address.includes(':') ? parseIpv6(address) : undefined;
  if (v6 !== undefined) return bits <= 128 ? { family: 6, address: v6, prefix: bits } : undefined;
  return undefined;
}

const width = (cidr: Cidr) => (cidr.family === 4 ? 32 : 128);
const hostMask = (cidr: Cidr) => (1n << BigInt(width(cidr) - cidr.prefix)) - 1n;

/** A CIDR range whose host bits are zero ("10.0.0.0/8", not "10.1.2.3/8"). */
export function isNetworkCidr(text: string): boolean {
  const cidr = parseCidr(text);
  return cidr !== undefined && (cidr.address & hostMask(cidr)) === 0n;
}

/** `inner` lies inside `outer` and is smaller (what NetworkPolicy requires of `except`). */
export function strictlyContains(outer: string, inner: string): boolean {
  const a = parseCidr(outer);
  const b = parseCidr(inner);
  if (!a || !b || a.family !== b.family || b.prefix <= a.prefix) return false;
  const mask = ~hostMask(a) & ((1n << BigInt(width(a))) - 1n);
  return (a.address & mask) === (b.address & mask);
}
