import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import type { LabelsFor } from '../core/labels';

/**
 * The installation's PriorityClasses, by tier; pods name them in `priorityClassName`. Under
 * pressure the scheduler places the control plane first (istiod, whose injection webhook fails
 * closed: while it is gone no pod starts in the mesh namespaces; the ingress gateway;
 * cert-manager and trust-manager), then the data tier (a Prefect service without its database
 * or Redis serves nothing), and the services in turn outrank the cluster's unprioritized pods
 * (flow runs, batch work).
 */
export const PRIORITY_CLASS = {
  /** istiod, the ingress gateway, cert-manager, trust-manager (through their charts' values). */
  platform: 'prefect-platform',
  /** PostgreSQL and Redis. */
  data: 'prefect-data',
  /** The Prefect services. */
  services: 'prefect-services',
} as const;

/** Values well below the system classes (2,000,000,000 and up) and above the default 0. */
const PRIORITY_VALUE: Readonly<Record<keyof typeof PRIORITY_CLASS, number>> = {
  platform: 2_000_000,
  data: 1_000_000,
  services: 100_000,
};

const DESCRIPTION: Readonly<Record<keyof typeof PRIORITY_CLASS, string>> = {
  platform:
    'Prefect control plane (istiod, the ingress gateway, cert-manager, trust-manager): scheduled before, and may preempt, the Prefect data tier and services',
  data: 'Prefect data tier (PostgreSQL, Redis): scheduled before, and may preempt, the Prefect services and unprioritized pods',
  services: 'Prefect services: scheduled before, and may preempt, unprioritized pods; yield to the Prefect data tier',
};

export interface PrefectPriorityClassesProps {
  readonly labelsFor: LabelsFor;
}

/** One cluster-scoped PriorityClass per tier (platform layer, so that they exist before any pod names one). */
export class PrefectPriorityClasses extends Construct {
  constructor(scope: Construct, id: string, props: PrefectPriorityClassesProps) {
    super(scope, id);
    const tiers = Object.keys(PRIORITY_CLASS) as Array<keyof typeof PRIORITY_CLASS>;
    for (const tier of tiers) {
      const name = PRIORITY_CLASS[tier];
      new k8s.KubePriorityClass(this, tier, {
        metadata: { name, labels: props.labelsFor({ name, component: 'scheduling' }) },
        value: PRIORITY_VALUE[tier],
        globalDefault: false,
        preemptionPolicy: 'PreemptLowerPriority',
        description: DESCRIPTION[tier],
      });
    }
  }
}
