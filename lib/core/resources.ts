import { k8s } from 'cdk8s-plus-28';

/** Requests and optional limits, as the configuration and the catalog write them ("500m", "1Gi"). */
export interface ResourceAmounts {
  readonly requests: { readonly cpu: string; readonly memory: string };
  readonly limits?: { readonly cpu?: string; readonly memory?: string };
}

/**
 * A container's `resources`: the requests, and limits with a memory limit always (the requested
 * memory when none is given). No CPU limit unless one is given: CFS throttling slows a pod that
 * has idle CPU next to it.
 */
export function toResourceRequirements(resources: ResourceAmounts): k8s.ResourceRequirements {
  return {
    requests: { cpu: k8s.Quantity.fromString(resources.requests.cpu), memory: k8s.Quantity.fromString(resources.requests.memory) },
    limits: {
      ...(resources.limits?.cpu ? { cpu: k8s.Quantity.fromString(resources.limits.cpu) } : {}),
      memory: k8s.Quantity.fromString(resources.limits?.memory ?? resources.requests.memory),
    },
  };
}
