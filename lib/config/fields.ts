/*
 * Field schemas that every section of the configuration shares: names, hostnames, quantities,
 * durations, versions, image tags, CIDR ranges, labels and container resources.
 */
import { z } from 'zod';
import { CIDR_PATTERN, isNetworkCidr } from '../core/cidr';
import { parseQuantity, POSITIVE_QUANTITY } from '../core/quantity';
import { GO_DURATION } from '../core/duration';

/*
 * Names as regular expressions, so that the editor's JSON Schema carries them whole: an RFC 1123
 * label is at most 63 characters, a subdomain (labels joined by ".") at most 253.
 */
const LABEL = '[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?';

/** A fully qualified DNS name with at least two labels, lower case (RFC 1123), not an IPv4 address. */
export const hostname = z.string().regex(new RegExp(`^(?=.{1,253}$)(?!\\d+(?:\\.\\d+)*$)${LABEL}(?:\\.${LABEL})+$`), {
  error: 'expected a lower-case DNS name such as "prefect.example.com" (labels of at most 63 characters, 253 in all)',
});

/** A Kubernetes object name (RFC 1123 label, at most 63 characters). */
export const dnsLabel = z.string().regex(new RegExp(`^${LABEL}$`), {
  error: 'expected a Kubernetes name: lower-case letters, digits and "-", at most 63 characters, such as "prefect"',
});

/** A Kubernetes object name that may contain dots (RFC 1123 subdomain). */
export const objectName = z.string().regex(new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*$`), {
  error: 'expected a Kubernetes object name: lower-case letters, digits, "-" and ".", such as "prefect-postgres"',
});

/** The largest CPU a container of this project asks for: no node offers more. */
export const MAX_CPU = 1024;
/** The largest memory a container asks for: 16 TiB, more than any node has. */
export const MAX_MEMORY = 16 * 2 ** 40;
/** The largest volume: 64 TiB, the most a cloud block volume holds. */
export const MAX_VOLUME = 64 * 2 ** 40;

/**
 * A Kubernetes quantity that sizes something (CPU, memory, a volume): more than zero and at most
 * `max` (in cores or bytes), so that a typo in a suffix ("1Ei") is an error rather than a
 * `shared_buffers` of 256 PiB.
 */
export const quantity = (example: string, max: number) =>
  z
    .string()
    .regex(POSITIVE_QUANTITY, { error: `expected a Kubernetes quantity above zero, such as "${example}"` })
    .refine((value) => !POSITIVE_QUANTITY.test(value) || parseQuantity(value) <= max, {
      error: `expected at most ${max >= 2 ** 40 ? `${max / 2 ** 40}Ti` : max}, such as "${example}"`,
    });

/** A Go duration as Flux and cert-manager read it, e.g. "10m", "1h30m", "2160h". */
export const duration = z.string().regex(GO_DURATION, {
  error: 'expected a duration such as "10m" or "2160h"',
});

export const email = z.string().regex(/^[^\s@]+@[^\s@]+\.[^\s@.]+$/, {
  error: 'expected an e-mail address such as "platform@example.com"',
});

/** A chart or image version: no floating tags, no ranges. */
export const version = z.string().regex(/^v?\d+\.\d+(\.\d+)?([-.+][0-9A-Za-z.-]+)?$/, {
  error: 'expected a pinned version such as "1.30.3" or "v1.21.1"',
});

export const imageTag = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, { error: 'expected an image tag such as "2026.11.1"' })
  .regex(/^(?!latest$)/, { error: 'expected a pinned image tag, not "latest"' });

/** An address range (host bits may be set, as a Service's loadBalancerSourceRanges allow): what core/cidr.ts parses. */
export const cidr = z.string().regex(CIDR_PATTERN, { error: 'expected a CIDR range such as "203.0.113.0/24" or "2001:db8::/32"' });

/** A network range as a NetworkPolicy ipBlock takes it: no host bits set. */
export const networkCidr = z
  .string()
  .regex(CIDR_PATTERN, { error: 'expected a network range such as "203.0.113.0/24" or "::/0"' })
  .refine((value) => !CIDR_PATTERN.test(value) || isNetworkCidr(value), {
    error: 'expected a network range with no host bits set, such as "203.0.113.0/24" or "::/0"',
  });

/** A label or annotation key: an optional DNS prefix of at most 253 characters, then a name of at most 63. */
export const labelKey = z
  .string()
  .regex(/^(?:(?=[^/]{1,253}\/)[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?\/)?(?=[^/]{1,63}$)[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?$/, {
    error: 'expected a Kubernetes label or annotation key such as "example.com/team" (a name of at most 63 characters)',
  });
export const labelValue = z.string().regex(/^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/, {
  error: 'expected a label value: at most 63 letters, digits, "-", "_" and ".", quoted ("true", "1234")',
});

/** Labels: keys and values as Kubernetes takes them. */
export const labelValueMap = z.record(labelKey, labelValue);

/** Annotations: keys as labels', any string as the value. */
export const labelMap = z.record(labelKey, z.string());

export const resources = z.strictObject({
  requests: z
    .strictObject({
      cpu: quantity('500m', MAX_CPU).describe("CPU the scheduler reserves for each pod's container."),
      memory: quantity('1Gi', MAX_MEMORY).describe("Memory the scheduler reserves for each pod's container."),
    })
    .describe('What the scheduler reserves; the capacity check adds these up per node.'),
  limits: z
    .strictObject({
      cpu: quantity('2', MAX_CPU).optional().describe('The CPU limit; omit to let the container use idle CPU.'),
      memory: quantity('1Gi', MAX_MEMORY).describe('The memory limit: the container is killed above it.'),
    })
    .optional()
    .describe('What the container may use at most.'),
});
export type Resources = z.infer<typeof resources>;
