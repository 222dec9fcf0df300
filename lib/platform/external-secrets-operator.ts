import type { Construct } from 'constructs';
import { OperatorRelease, type OperatorInstallProps } from './operator-release';
import { PRIORITY_CLASS } from './priority-classes';

export const EXTERNAL_SECRETS_NAMESPACE = 'external-secrets';

/** Requests of the controller, its webhook and its certificate controller (the chart sets none). */
export const EXTERNAL_SECRETS_REQUESTS = { cpu: '50m', memory: '128Mi' } as const;

/**
 * The External Secrets Operator and its CRDs, for `secrets.provider: external-secrets`. The
 * SecretStore or ClusterSecretStore it reads is the user's (it holds the store's credentials or
 * cloud identity) and is named in the configuration. `version` is the `external-secrets` chart's.
 */
export class ExternalSecretsOperator extends OperatorRelease {
  constructor(scope: Construct, id: string, props: OperatorInstallProps) {
    const resources = () => ({ requests: { ...EXTERNAL_SECRETS_REQUESTS }, limits: { memory: '256Mi' } });
    super(scope, id, {
      ...props,
      name: 'external-secrets',
      namespace: EXTERNAL_SECRETS_NAMESPACE,
      url: 'https://charts.external-secrets.io',
      chart: 'external-secrets',
      values: {
        installCRDs: true,
        resources: resources(),
        // The control plane's tier: the installation's Secrets, and so its pods, depend on it.
        priorityClassName: PRIORITY_CLASS.platform,
        webhook: { resources: resources(), priorityClassName: PRIORITY_CLASS.platform },
        certController: { resources: resources(), priorityClassName: PRIORITY_CLASS.platform },
      },
    });
  }
}
