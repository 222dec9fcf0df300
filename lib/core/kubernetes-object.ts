/*
 * Kubernetes objects as plain JSON, and what a workload asks of the cluster.
 */

/** A synthesized Kubernetes object, as plain JSON. */
export interface KubernetesObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Record<string, string>;
    readonly annotations?: Record<string, string>;
  };
  readonly [field: string]: unknown;
}

/** What one workload asks of the node pool, for the capacity check (validation/capacity.ts). */
export interface WorkloadDemand {
  readonly layer: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** Requests of one pod, sidecar included: CPU in cores, memory in bytes. */
  readonly cpu: number;
  readonly memory: number;
  /** Runs once per node (DaemonSet). */
  readonly perNode?: boolean;
  /** Where its pods may run: what the capacity check matches against each node pool. */
  readonly placement?: PodPlacement;
}

export interface Toleration {
  readonly key?: string;
  readonly operator?: string;
  readonly value?: string;
  readonly effect?: string;
}

export interface NodeSelectorRequirement {
  readonly key: string;
  readonly operator: string;
  readonly values?: readonly string[];
}

/** A pod's constraints on nodes: its nodeSelector, tolerations and required node affinity. */
export interface PodPlacement {
  readonly nodeSelector?: Readonly<Record<string, string>>;
  readonly tolerations?: readonly Toleration[];
  /** requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: one of them must match. */
  readonly requiredNodeTerms?: ReadonlyArray<{ readonly matchExpressions?: readonly NodeSelectorRequirement[] }>;
}

/** Where each workload kind keeps its pod template (the one list, for every check that reads pod templates). */
export const POD_TEMPLATE_PATHS: Readonly<Record<string, readonly string[]>> = {
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  ReplicationController: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};
