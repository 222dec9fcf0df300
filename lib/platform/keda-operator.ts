import type { Construct } from 'constructs';
import type { FluxHelmRelease } from '../flux/helm-release';
import { OperatorRelease, type OperatorInstallProps } from './operator-release';
import { PRIORITY_CLASS } from './priority-classes';

export const KEDA_NAMESPACE = 'keda';

/** Requests of the operator, its metrics API server and its admission webhooks (set explicitly; counted by the capacity check). */
export const KEDA_REQUESTS = { cpu: '50m', memory: '128Mi' } as const;

/** The operator's pods: its ServiceAccount (its mesh identity) and its labels (the chart's, keda 2.20). */
export const KEDA_OPERATOR = {
  name: 'keda-operator',
  serviceAccountName: 'keda-operator',
  selectorLabels: { app: 'keda-operator' },
} as const;

/** What the operator's pods carry so that Istio injects its sidecar (the only KEDA pods in the mesh). */
export const KEDA_OPERATOR_POD_LABELS = { 'sidecar.istio.io/inject': 'true' } as const;

export interface KedaOperatorProps extends OperatorInstallProps {
  /** Pod annotations of the operator (the sidecar's size). */
  readonly operatorPodAnnotations: Record<string, string>;
  /** istiod's release, where Flux installs it: its injector must run before the operator's pods start. */
  readonly istiod?: FluxHelmRelease;
}

/**
 * KEDA and its CRDs, for `autoscaling.backlog`: the operator reads the lag of the Prefect
 * services' consumer groups from Redis, which admits only mesh identities under STRICT mTLS, so
 * the operator's pods (not the metrics API server, which the API server calls, nor the webhooks)
 * get an Istio sidecar: its identity is what the Redis instance's AuthorizationPolicy admits.
 * `version` is the `keda` chart's. The redis-streams scaler's `lagCount` needs KEDA 2.11 or newer
 * (kedacore/keda#4592).
 */
export class KedaOperator extends OperatorRelease {
  constructor(scope: Construct, id: string, props: KedaOperatorProps) {
    const resources = () => ({ requests: { ...KEDA_REQUESTS }, limits: { memory: '512Mi' } });
    super(scope, id, {
      ...props,
      name: 'keda',
      namespace: KEDA_NAMESPACE,
      url: 'https://kedacore.github.io/charts',
      ...(props.istiod ? { dependsOn: [props.istiod] } : {}),
      chart: 'keda',
      values: {
        crds: { install: true },
        resources: { operator: resources(), metricServer: resources(), webhooks: resources() },
        // The control plane's tier: the services' scaling depends on it.
        priorityClassName: PRIORITY_CLASS.platform,
        podLabels: { keda: { ...KEDA_OPERATOR_POD_LABELS } },
        podAnnotations: { keda: { ...props.operatorPodAnnotations } },
      },
    });
  }
}
