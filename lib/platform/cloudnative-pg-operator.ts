import type { Construct } from 'constructs';
import { FluxHelmRelease } from '../flux/helm-release';
import { OperatorRelease, type OperatorInstallProps } from './operator-release';
import { PRIORITY_CLASS } from './priority-classes';

/** Where the CloudNativePG operator runs; the database pods admit it (lib/data/postgres/cloudnative-pg.ts). */
export const CLOUDNATIVE_PG_NAMESPACE = 'cnpg-system';

/** The operator's requests, set explicitly (the chart sets none) and counted by the capacity check. */
export const CLOUDNATIVE_PG_OPERATOR_REQUESTS = { cpu: '100m', memory: '256Mi' } as const;

/** The Barman Cloud plugin's requests (the chart sets none), counted by the capacity check. */
export const BARMAN_CLOUD_PLUGIN_REQUESTS = { cpu: '50m', memory: '128Mi' } as const;

export interface CloudNativePgOperatorProps extends OperatorInstallProps {
  /**
   * The `plugin-barman-cloud` chart's version: the Barman Cloud plugin (backups and WAL archiving
   * to object stores) beside the operator, with its ObjectStore CRD. Its chart issues the
   * plugin's TLS certificates with cert-manager, whose release it then waits for.
   * @default - no plugin
   */
  readonly barmanCloudPlugin?: { readonly version: string; readonly after: readonly FluxHelmRelease[] };
}

/**
 * The CloudNativePG operator and its CRDs, cluster-wide, in its own namespace (restricted Pod
 * Security, out of the mesh: it talks to the database pods' status port and to the API server).
 * `version` is the `cloudnative-pg` chart's.
 */
export class CloudNativePgOperator extends OperatorRelease {
  /** The Barman Cloud plugin's release, where installed. */
  public readonly barmanCloudPlugin?: FluxHelmRelease;

  constructor(scope: Construct, id: string, props: CloudNativePgOperatorProps) {
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
    if (props.barmanCloudPlugin) {
      this.barmanCloudPlugin = new FluxHelmRelease(this, 'BarmanCloudPlugin', {
        name: 'plugin-barman-cloud',
        namespace: props.fluxNamespace,
        targetNamespace: CLOUDNATIVE_PG_NAMESPACE,
        labels: props.labelsFor({ name: 'plugin-barman-cloud', component: 'operator' }),
        repository: this.repository,
        chart: 'plugin-barman-cloud',
        version: props.barmanCloudPlugin.version,
        values: {
          crds: { create: true },
          resources: { requests: { ...BARMAN_CLOUD_PLUGIN_REQUESTS }, limits: { memory: '256Mi' } },
          priorityClassName: PRIORITY_CLASS.platform,
        },
        // The operator's CRDs and webhooks, and cert-manager for the plugin's certificates.
        dependsOn: [this.release, ...props.barmanCloudPlugin.after],
      });
    }
  }
}
