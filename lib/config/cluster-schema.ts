/*
 * The cluster and Flux sections of the configuration: the node pool, its DNS, the Git source.
 */
import { z } from 'zod';
import { dnsLabel, duration, labelKey, labelValue, labelValueMap, MAX_CPU, MAX_MEMORY, networkCidr, objectName, quantity } from './fields';

const taint = z.strictObject({
  key: labelKey.describe('The taint key.'),
  value: labelValue.optional().describe('The taint value.'),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).describe('The taint effect; PreferNoSchedule keeps no pod away.'),
});
const nodeLabels = labelValueMap
  .default({})
  .describe("Labels of the pool's nodes: the capacity check places a pod only on pools its nodeSelector and required node affinity admit.");
const nodeTaints = z
  .array(taint)
  .default([])
  .describe("Taints of the pool's nodes: the capacity check places there only pods that tolerate them (scheduling.*.tolerations).");

/** A node pool beside the main one (`cluster.nodes` …), such as a tainted database pool or spot nodes. */
const pool = z.strictObject({
  name: dnsLabel.describe('The name of the pool, in the capacity report.'),
  nodes: z.int().min(1, { error: 'expected at least 1 node' }).max(10000).describe("The pool's nodes."),
  cpuPerNode: quantity('16', MAX_CPU).describe('Allocatable CPU of one node of the pool.'),
  memoryPerNode: quantity('64Gi', MAX_MEMORY).describe('Allocatable memory of one node of the pool.'),
  labels: nodeLabels,
  taints: nodeTaints,
});

export const cluster = z.strictObject({
  nodes: z
    .int()
    .min(1, { error: 'expected at least 1 node' })
    .describe('Nodes of the pool the workloads run on: the capacity check packs every pod onto them, and spreads by node need as many.'),
  cpuPerNode: quantity('16', MAX_CPU).describe("Allocatable CPU of one node (the node's `status.allocatable.cpu`, not its size)."),
  memoryPerNode: quantity('24Gi', MAX_MEMORY).describe("Allocatable memory of one node (the node's `status.allocatable.memory`)."),
  zones: z.array(z.string().min(1)).default([]).describe('Topology zones of the node pool; empty for a single-zone cluster.'),
  labels: nodeLabels,
  taints: nodeTaints,
  pools: z
    .array(pool)
    .default([])
    .describe(
      'More node pools (a tainted database pool, spot nodes): the capacity check places each pod on the pools its scheduling admits, each pool with one of its nodes lost.',
    ),
  privateRanges: z
    .array(networkCidr)
    .min(1, { error: "expected at least one range (the cluster's pod network)" })
    .default(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', 'fc00::/7', 'fe80::/10'])
    .describe(
      'The cluster\'s private address ranges: pods, services, nodes and the networks around them (VPC, peered and on-premises networks), plus link-local (cloud metadata endpoints). A service\'s egress to a wider range (`prefect.services.<name>.egress`, e.g. 0.0.0.0/0 on 443) leaves these out unless it names its own `except`, so "the internet" never opens the way to the cluster itself. Add the pod or service CIDR here if the cluster uses public addresses for them.',
    ),
  apiServer: z
    .strictObject({
      ranges: z
        .array(networkCidr)
        .min(1, { error: "expected at least one range (the API server's addresses)" })
        .optional()
        .describe(
          "The API server's endpoint addresses (`kubectl get endpointslices -n default -l kubernetes.io/service-name=kubernetes`). Defaults to `cluster.privateRanges`.",
        ),
      ports: z.array(z.int().min(1).max(65535)).min(1).default([443, 6443]).describe("The API server's endpoint ports."),
    })
    .prefault({})
    .describe(
      "Where the API server is, for the one workload that calls it (the migration cleanup, see `prefect.migrations.cleanup`): the addresses behind the `kubernetes` Service's endpoints (the control plane's, often outside the pod network) and their ports. NetworkPolicy sees the endpoint, not the Service's cluster IP. Defaults to `privateRanges`.",
    ),
  dns: z
    .strictObject({
      namespace: dnsLabel.default('kube-system').describe('The namespace of the cluster DNS pods.'),
      podSelector: z.record(z.string(), z.string()).default({ 'k8s-app': 'kube-dns' }).describe('The labels of the cluster DNS pods.'),
      nodeLocalAddresses: z
        .array(networkCidr)
        .default([])
        .describe('The link-local address of NodeLocal DNSCache, e.g. ["169.254.20.10/32"]; empty without it.'),
    })
    .prefault({})
    .describe(
      "Where the pods' DNS queries go: the cluster DNS pods (CoreDNS and kube-dns carry `k8s-app: kube-dns` on EKS, GKE, AKS, kind and k3s) and, with NodeLocal DNSCache, its link-local address. Workloads may send DNS (port 53) there and nowhere else.",
    ),
});

/** Where a Flux Kustomization's manifests come from: the source bootstrap (or the cluster's owner) created. */
export const FLUX_SOURCE_KINDS = ['GitRepository', 'OCIRepository'] as const;

/** What Flux does with a layer's objects when its Kustomization is deleted (kustomize-controller `spec.deletionPolicy`). */
export const FLUX_DELETION_POLICIES = ['Orphan', 'MirrorPrune', 'Delete', 'WaitForTermination'] as const;

const repositoryPath = z
  .string()
  .regex(/^\.\/[A-Za-z0-9._/-]*$/, { error: 'expected a path inside the source starting with "./", such as "./dist/prod"' });

export const flux = z.strictObject({
  namespace: dnsLabel.default('flux-system').describe('The namespace of the Flux controllers and of the Kustomizations.'),
  sourceRef: z
    .strictObject({
      kind: z.enum(FLUX_SOURCE_KINDS).default('GitRepository').describe('The kind of the source.'),
      name: objectName.default('flux-system').describe('The name of the source.'),
      namespace: dnsLabel.default('flux-system').describe('The namespace of the source.'),
    })
    .prefault({})
    .describe(
      "The Flux source that holds this repository's output: the `GitRepository` that `flux bootstrap` created (default), or an `OCIRepository` that pulls the artifact `flux push artifact` pushed from `dist/<environment>`.",
    ),
  path: repositoryPath
    .optional()
    .describe(
      'Path of `dist/<environment>` inside the source. Defaults to "./dist/<environment>" for a GitRepository and "./" for an OCIRepository (an artifact pushed from `dist/<environment>`).',
    ),
  interval: duration.default('10m').describe('How often Flux reconciles each layer (`spec.interval`).'),
  retryInterval: duration.default('2m').describe('How soon Flux retries a layer whose reconciliation failed (`spec.retryInterval`).'),
  timeout: duration
    .default('10m')
    .describe("How long Flux waits for a layer to become ready (`spec.timeout`); the migrations layer adds the migrations' deadline."),
  prune: z.boolean().default(true).describe('Whether Flux deletes the objects a new revision no longer has (`spec.prune`).'),
  deletionPolicy: z
    .enum(FLUX_DELETION_POLICIES)
    .default('Orphan')
    .describe(
      "What Flux does with a layer's objects when its Kustomization is deleted or renamed. `Orphan` (default) leaves them running: removing or renaming a layer never deletes the database or the services behind it. `MirrorPrune` deletes them when `prune` is on (Flux's own default).",
    ),
  sops: z
    .strictObject({
      secretRef: objectName.describe(
        'The Secret in the Flux namespace holding the decryption key (e.g. `sops-age`, with key `age.agekey`).',
      ),
      path: repositoryPath
        .optional()
        .describe('The folder of encrypted Secrets inside the source. Defaults to "./secrets/<environment>" for a GitRepository.'),
    })
    .optional()
    .describe(
      'Secrets committed encrypted with SOPS: one more Kustomization, `prefect-<environment>-secrets`, applies the folder `path` of the same source with SOPS decryption (the key in the Secret `secretRef` of the Flux namespace), after the platform layer has created the namespaces and before any layer that reads a Secret.',
    ),
});
