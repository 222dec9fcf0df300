/*
 * Field schemas that every section of the configuration shares: names, hostnames, quantities,
 * durations, versions, image tags, CIDR ranges, labels and container resources.
 */
import { z } from 'zod';
import { isNetworkCidr, parseCidr } from '../core/cidr';
import { isQuantity, parseQuantity } from '../core/quantity';
import { GO_DURATION } from '../core/duration';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function isDnsSubdomain(value: string): boolean {
  return value.length <= 253 && value.split('.').every((label) => label.length <= 63 && DNS_LABEL.test(label));
}

/** A fully qualified DNS name with at least two labels, lower case (RFC 1123). */
export const hostname = z.string().refine((value) => value.includes('.') && isDnsSubdomain(value) && !/^\d+(\.\d+)*$/.test(value), {
  error: 'expected a lower-case DNS name such as "prefect.example.com"',
});

/** A Kubernetes object name (RFC 1123 label, at most 63 characters). */
export const dnsLabel = z.string().refine((value) => value.length <= 63 && DNS_LABEL.test(value), {
  error: 'expected a Kubernetes name: lower-case letters, digits and "-", at most 63 characters, such as "prefect"',
});

/** A Kubernetes object name that may contain dots (RFC 1123 subdomain). */
export const objectName = z.string().refine(isDnsSubdomain, {
  error: 'expected a Kubernetes object name: lower-case letters, digits, "-" and ".", such as "prefect-postgres"',
});

/** A Kubernetes quantity that sizes something (CPU, memory, a volume): more than zero. */
export const quantity = (example: string) =>
  z
    .string()
    .refine(isQuantity, { error: `expected a Kubernetes quantity such as "${example}"` })
    .refine((value) => !isQuantity(value) || parseQuantity(value) > 0, {
      error: `expected a quantity above zero, such as "${example}"`,
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
  .refine((tag) => tag !== 'latest', { error: 'expected a pinned image tag, not "latest"' });

/** An address range (host bits may be set, as a Service's loadBalancerSourceRanges allow): the one CIDR parser of core/cidr.ts. */
export const cidr = z
  .string()
  .refine((value) => parseCidr(value) !== undefined, { error: 'expected a CIDR range such as "203.0.113.0/24" or "2001:db8::/32"' });

/** A network range as a NetworkPolicy ipBlock takes it: no host bits set. */
export const networkCidr = z
  .string()
  .refine(isNetworkCidr, { error: 'expected a network range with no host bits set, such as "203.0.113.0/24" or "::/0"' });

/** Labels: keys as `labelMap`, values that Kubernetes accepts as label values. */
export const labelValueMap = z.record(
  z.string().regex(/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, {
    error: 'expected a Kubernetes label key such as "azure.workload.identity/use"',
  }),
  z.string().regex(/^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/, {
    error: 'expected a label value (at most 63 letters, digits, "-", "_" and "."), quoted: "true"',
  }),
);

export const labelMap = z.record(
  z.string().regex(/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, {
    error: 'expected a Kubernetes label or annotation key such as "example.com/team"',
  }),
  z.string(),
);

export const resources = z.strictObject({
  requests: z.strictObject({
    cpu: quantity('500m'),
    memory: quantity('1Gi'),
  }),
  limits: z
    .strictObject({
      cpu: quantity('2').optional(),
      memory: quantity('1Gi'),
    })
    .optional(),
});
export type Resources = z.infer<typeof resources>;
