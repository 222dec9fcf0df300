import { Construct } from 'constructs';
import type { LayerChart } from './charts/layer-chart';
import { FluxHelmRelease, FluxHelmRepository } from './helm-release';
import { PrefectNamespace } from './namespace';

export const EXTERNAL_SECRETS_NAMESPACE = 'external-secrets';

/** Requests of the controller, its webhook and its certificate controller (the chart sets none). */
export const EXTERNAL_SECRETS_REQUESTS = { cpu: '50m', memory: '128Mi' } as const;

export interface ExternalSecretsOperatorProps {
  /** The Flux namespace (repository and release objects). */
  readonly fluxNamespace: string;
  /** The `external-secrets` chart's version. */
  readonly version: string;
  readonly labelsFor: LayerChart['labelsFor'];
}

/**
 * The External Secrets Operator and its CRDs, installed by Flux, for `secrets.provider:
 * external-secrets`. The SecretStore or ClusterSecretStore it reads is the user's (it holds
 * the store's credentials or cloud identity) and is named in the configuration.
 */
export class ExternalSecretsOperator extends Construct {
  public readonly release: FluxHelmRelease;

  constructor(scope: Construct, id: string, props: ExternalSecretsOperatorProps) {
    super(scope, id);
    const labels = props.labelsFor({ name: 'external-secrets', component: 'operator', version: props.version });
    new PrefectNamespace(this, 'Namespace', { name: EXTERNAL_SECRETS_NAMESPACE, labels: props.labelsFor({ name: EXTERNAL_SECRETS_NAMESPACE, component: 'namespace' }) });
    const repository = new FluxHelmRepository(this, 'Repository', {
      name: 'external-secrets',
      namespace: props.fluxNamespace,
      labels,
      url: 'https://charts.external-secrets.io',
    });
    this.release = new FluxHelmRelease(this, 'Release', {
      name: 'external-secrets',
      namespace: props.fluxNamespace,
      targetNamespace: EXTERNAL_SECRETS_NAMESPACE,
      labels,
      repository,
      chart: 'external-secrets',
      version: props.version,
      values: {
        installCRDs: true,
        resources: { requests: EXTERNAL_SECRETS_REQUESTS, limits: { memory: '256Mi' } },
        webhook: { resources: { requests: EXTERNAL_SECRETS_REQUESTS, limits: { memory: '256Mi' } } },
        certController: { resources: { requests: EXTERNAL_SECRETS_REQUESTS, limits: { memory: '256Mi' } } },
      },
    });
  }
}
