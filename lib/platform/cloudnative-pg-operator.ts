import type { Construct } from 'constructs';
import { OperatorRelease, type OperatorInstallProps } from './operator-release';
import { PRIORITY_CLASS } from './priority-classes';

/** Where the CloudNativePG operator runs; the database pods admit it (lib/data/postgres/cloudnative-pg.ts). */
export const CLOUDNATIVE_PG_NAMESPACE = 'cnpg-system';

/** The operator's requests, set explicitly (the chart sets none) and counted by the capacity check. */
export const CLOUDNATIVE_PG_OPERATOR_REQUESTS = { cpu: '100m', memory: '256Mi' } as const;

/**
 * The CloudNativePG operator and its CRDs, cluster-wide, in its own namespace (restricted Pod
 * Security, out of the mesh: it talks to the database pods' status port and to the API server).
 * `version` is the `cloudnative-pg` chart's.
 */
export class CloudNativePgOperator extends OperatorRelease {
  constructor(scope: Construct, id: string, props: OperatorInstallProps) {
    super(scope, id, {
      ...props,
      name: 'cloudnative-pg',
      namespace: CLOUDNATIVE_PG_NAMESPACE,
      url: 'https://cloudnative-pg.github.io/charts',
      chart: 'cloudnative-pg',
      values: {
        crds: { create: true },
        config: { clusterWide: true },
        resources: { requests: { ...CLOUDNATIVE_PG_OPERATOR_REQUESTS }, limits: { memory: '512Mi' } },
        // The control plane's tier: the database's pods depend on its webhooks and reconciliation.
        priorityClassName: PRIORITY_CLASS.platform,
      },
    });
  }
}
