/*
 * The cluster and Flux sections of the configuration: the node pool, its DNS, the Git source.
 */
import { z } from 'zod';
import { dnsLabel, duration, networkCidr, objectName, quantity } from './fields';

export const cluster = z.strictObject({
  nodes: z.int().min(1, { error: 'expected at least 1 node' }),
  cpuPerNode: quantity('16'),
  memoryPerNode: quantity('24Gi'),
  /** Topology zones of the node pool; empty for a single-zone cluster. */
  zones: z.array(z.string().min(1)).default([]),
  /**
   * The cluster's private address ranges: pods, services, nodes and the networks around them
   * (VPC, peered and on-premises networks), plus link-local (cloud metadata endpoints). A service's
   * egress to a wider range (`prefect.services.<name>.egress`, e.g. 0.0.0.0/0 on 443) leaves
   * these out unless it names its own `except`, so "the internet" never opens the way to the
   * cluster itself. Add the pod or service CIDR here if the cluster uses public addresses for them.
   */
  privateRanges: z
    .array(networkCidr)
    .min(1, { error: "expected at least one range (the cluster's pod network)" })
    .default(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', 'fc00::/7', 'fe80::/10']),
  /**
   * Where the pods' DNS queries go: the cluster DNS pods (CoreDNS and kube-dns carry
   * `k8s-app: kube-dns` on EKS, GKE, AKS, kind and k3s) and, with NodeLocal DNSCache, its
   * link-local address. Workloads may send DNS (port 53) there and nowhere else.
   */
  dns: z
    .strictObject({
      namespace: dnsLabel.default('kube-system'),
      podSelector: z.record(z.string(), z.string()).default({ 'k8s-app': 'kube-dns' }),
      /** E.g. ["169.254.20.10/32"] with NodeLocal DNSCache. */
      nodeLocalAddresses: z.array(networkCidr).default([]),
    })
    .prefault({}),
});

export const flux = z.strictObject({
  namespace: dnsLabel.default('flux-system'),
  /** The `GitRepository` that holds this repository, created by `flux bootstrap`. */
  sourceRef: z
    .strictObject({
      name: objectName.default('flux-system'),
      namespace: dnsLabel.default('flux-system'),
    })
    .prefault({}),
  /** Path of `dist/<env>` inside the Git repository. Defaults to "./dist/<environment>". */
  path: z
    .string()
    .regex(/^\.\/[A-Za-z0-9._/-]*$/, { error: 'expected a repository path starting with "./", such as "./dist/prod"' })
    .optional(),
  interval: duration.default('10m'),
  retryInterval: duration.default('2m'),
  timeout: duration.default('10m'),
  prune: z.boolean().default(true),
});
