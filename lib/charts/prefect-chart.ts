import { Construct } from 'constructs';
import { AuthorizationPolicy, AuthorizationPolicySpecAction } from '../../imports/istio-security.istio.io';
import type { DatabaseName, RedisName } from '../catalog';
import type { DataClient } from '../data-client';
import { selectorLabels } from '../labels';
import { exemptions } from '../policy-exemptions';
import { PrefectService } from '../prefect-service';
import { resolveCatalog, type ResolvedService } from '../service-catalog';
import { LayerChart, type LayerChartProps } from './layer-chart';

/** What the data layer offers the services: relation methods that do all of the wiring. */
export interface DataServices {
  readonly postgres: { grantDatabase(client: DataClient, database: DatabaseName): void };
  readonly redis: Readonly<Record<RedisName, { allowFrom(client: DataClient): void }>>;
}

export interface PrefectChartProps extends LayerChartProps {
  readonly data: DataServices;
  /** With a private CA: the bundle (public roots and the CA) that the services trust. */
  readonly trustBundle?: { readonly configMapName: string; readonly key: string };
}

/**
 * Layer 5: one PrefectService per catalog entry, wired to the databases and Redis instances it
 * declares — and to nothing else.
 */
export class PrefectChart extends LayerChart {
  public readonly services: readonly PrefectService[];

  constructor(scope: Construct, props: PrefectChartProps) {
    super(scope, 'prefect', props);
    const data = props.data;
    const { config } = this;
    const namespace = config.namespaces.prefect;
    const catalog = resolveCatalog(config);
    const webPorts = [...new Set(catalog.filter((service) => service.type === 'web').map((service) => service.port as number))];

    this.services = catalog.map((definition) => {
      const service = new PrefectService(this, definition.name, {
        definition,
        namespace,
        image: `${config.prefect.image.registry}/cloud/${definition.image}:${config.prefect.image.tag}`,
        imagePullSecret: config.prefect.image.pullSecret,
        labels: this.labelsFor({ name: definition.name, component: componentOf(definition) }),
        selectorLabels: selectorLabels(config.environment, definition.name),
        replicas: definition.replicas,
        maxReplicas: definition.maxReplicas,
        spreadOverZones: config.cluster.zones.length > 1,
        istioNamespace: config.namespaces.istio,
        trustBundle: props.trustBundle,
        exemptions: exemptionsFor(definition, config.environment),
      });
      service.addEnv('CLOUD_API_URL', { value: `https://${config.hostnames.api}` });
      service.addEnv('CLOUD_UI_URL', { value: `https://${config.hostnames.app}` });
      for (const database of definition.databases) data.postgres.grantDatabase(service, database);
      for (const instance of definition.redis) data.redis[instance].allowFrom(service);
      for (const [name, value] of Object.entries(definition.env)) service.addEnv(name, { value });
      // Services call each other's web ports inside the namespace.
      for (const port of webPorts) service.addEgress({ purpose: 'prefect-web', namespace, port });
      return service;
    });

    for (const service of this.services) {
      if (service.definition.type !== 'web') continue;
      const port = service.definition.port as number;
      service.allowIngress({ purpose: 'prefect-services', namespace, port });
      if (service.definition.host !== 'internal') {
        service.allowIngress({ purpose: 'ingress-gateway', namespace: config.namespaces.ingress, port });
      }
      // Service-to-service calls inside the Prefect namespace; the gateway's allow is in `edge`.
      new AuthorizationPolicy(this, `${service.name}-from-prefect`, {
        metadata: { name: `${service.name}-from-prefect`, namespace, labels: this.labelsFor({ name: service.name, component: 'authorization' }) },
        spec: {
          action: AuthorizationPolicySpecAction.ALLOW,
          selector: { matchLabels: service.selectorLabels },
          rules: [{ from: [{ source: { namespaces: [namespace] } }], to: [{ operation: { ports: [String(port)] } }] }],
        },
      });
    }
  }
}

/** Why a service is exempt from policy checks (lib/policy), by design. */
function exemptionsFor(service: ResolvedService, environment: string): { deployment: Record<string, string>; autoscaler: Record<string, string> } {
  const deployment: Record<string, string> = {};
  const autoscaler: Record<string, string> = {};
  if (service.type !== 'web') {
    const reason = `a ${service.type} service serves no HTTP and Prefect documents no health command for it; Kubernetes restarts the container when its process exits`;
    for (const check of ['no-liveness-probe', 'no-readiness-probe', 'livenessProbeMissing', 'readinessProbeMissing']) deployment[check] = reason;
  }
  if (service.type !== 'loop' && service.replicas < 2) {
    const reason = `one replica in ${environment} by configuration (prefect.replicas): a single-node environment has no second node to spread to`;
    deployment.deploymentMissingReplicas = reason;
    autoscaler.hpaMinAvailability = reason;
  }
  return { deployment: exemptions(deployment), autoscaler: exemptions(autoscaler) };
}

function componentOf(service: ResolvedService): string {
  return service.type === 'web' ? (service.image === 'ui' ? 'ui' : 'api') : service.type;
}
