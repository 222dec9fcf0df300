import type { RedisServer } from '../data/redis/redis-access';
import { ConfigurationFault } from '../core/configuration-fault';
import { RecordingDataClient } from '../core/data-client';
import { redisSecretId, SECRET_KEY } from '../catalog/secrets';
import { KEDA_NAMESPACE, KEDA_OPERATOR } from '../platform/keda-operator';
import { RedisTriggerAuthentication } from '../prefect/backlog-scaling';
import type { Construct } from 'constructs';
import { redisInstanceFor, type DatabaseName, type RedisName } from '../catalog/services';
import type { DataClient } from '../core/data-client';
import { selectorLabels } from '../core/labels';
import { exemptions } from '../policy/exemption-annotations';
import { PRIORITY_CLASS } from '../platform/priority-classes';
import { PrefectService } from '../prefect/prefect-service';
import { ssoEnvironment } from '../prefect/single-sign-on';
import { SSO_SERVICE } from '../catalog/single-sign-on';
import { openSourceSettings } from '../prefect/open-source';
import type { SecretId } from '../catalog/secrets';
import { prefectImage, type ResolvedService } from '../prefect/service-catalog';
import { LayerChart, type LayerChartProps } from './layer-chart';

/** What the data layer offers the services: relation methods that do all of the wiring. */
export interface DataServices {
  readonly postgres: { grantDatabase(client: DataClient, database: DatabaseName): void };
  readonly redis: Readonly<Record<RedisName, Pick<RedisServer, 'host' | 'port' | 'tls' | 'allowFrom' | 'admitScaler'>>>;
  /** The Secrets' names and uses: image pull secrets, and the revision that restarts readers. */
  readonly secrets: {
    imagePullSecrets(namespace: string): Array<{ readonly name: string }>;
    readonly revisionAnnotation: Record<string, string>;
    /** A key of one of the installation's own Secrets (lib/catalog/secrets.ts), read in `namespace`. */
    keyRef(id: SecretId, key: string, namespace: string): { readonly name: string; readonly key: string };
    /** A key of a Secret the configuration names (an environment variable's value). */
    configuredKeyRef(name: string, key: string, namespace: string, purpose: string): { readonly name: string; readonly key: string };
  };
}

export interface PrefectChartProps extends LayerChartProps {
  readonly data: DataServices;
  /** The environment's resolved service catalog: one PrefectService per entry. */
  readonly catalog: readonly ResolvedService[];
  /** The ingress gateway, as a client of the routed web services. */
  readonly gateway: DataClient;
  /** With a private CA: the bundle (public roots and the CA) that the services trust. */
  readonly trustBundle?: { readonly configMapName: string; readonly key: string };
}

/**
 * Layer 5: one PrefectService per catalog entry, wired to the databases and Redis instances it
 * declares, to the other services' web ports, to the gateway when routed, and to the outside
 * addresses of its catalog `egress` — and to nothing else.
 */
export class PrefectChart extends LayerChart {
  public readonly services: readonly PrefectService[];

  constructor(scope: Construct, props: PrefectChartProps) {
    super(scope, 'prefect', props);
    const data = props.data;
    const { config } = this;
    const namespace = config.namespaces.prefect;
    const catalog = props.catalog;
    const openSource = config.edition === 'open-source';
    // The open-source API asks for basic auth unless a proxy in front authenticates.
    const basicAuth = openSource && (config.prefect.apiAuth ?? 'basic') === 'basic';

    // autoscaling.backlog: the services that name their streams scale on their lag (KEDA), with one
    // TriggerAuthentication per Redis instance here, and KEDA's operator admitted by that instance.
    const authentications = new Map<RedisName, string>();
    const backlogOf = (definition: ResolvedService) => {
      if (!config.autoscaling.backlog || !definition.backlog || definition.type === 'loop') return undefined;
      const role = (['streams', 'messaging'] as const).find((candidate) => definition.redis.includes(candidate));
      if (role === undefined) {
        throw new ConfigurationFault(
          `prefect.services.${definition.name}.backlog`,
          `expected only on a service that reads the streams or messaging Redis instance (its redis lists ${definition.redis.join(', ') || 'none'})`,
        );
      }
      const instance = redisInstanceFor(config.redis.roles, role);
      const server = data.redis[instance];
      if (!server) throw new Error(`service ${definition.name}: Redis "${role}" is not an instance of the ${config.edition} edition`);
      let authentication = authentications.get(instance);
      if (authentication === undefined) {
        authentication = `redis-${instance}`;
        authentications.set(instance, authentication);
        new RedisTriggerAuthentication(this, `TriggerAuthentication-${instance}`, {
          name: authentication,
          namespace,
          labels: this.labelsFor({ name: authentication, component: 'autoscaling' }),
          secret: data.secrets.keyRef(redisSecretId(instance), SECRET_KEY.password, namespace),
        });
        server.admitScaler(
          new RecordingDataClient(
            KEDA_OPERATOR.name,
            KEDA_NAMESPACE,
            { ...KEDA_OPERATOR.selectorLabels },
            KEDA_OPERATOR.serviceAccountName,
          ),
        );
      }
      return {
        consumers: definition.backlog,
        redis: { address: `${server.host}:${server.port}`, tls: server.tls, authentication },
        lagPerReplica: config.autoscaling.lagPerReplica,
      };
    };

    this.services = catalog.map((definition) => {
      const backlog = backlogOf(definition);
      const service = new PrefectService(this, definition.name, {
        ...(backlog ? { backlog } : {}),
        definition,
        namespace,
        image: prefectImage(config, definition.image),
        imagePullSecrets: data.secrets.imagePullSecrets(namespace),
        // A bumped secrets.revision restarts the services, so they read rotated passwords.
        podAnnotations: data.secrets.revisionAnnotation,
        priorityClassName: PRIORITY_CLASS.services,
        labels: this.labelsFor({ name: definition.name, component: componentOf(definition) }),
        version: config.prefect.image.tag,
        selectorLabels: selectorLabels(config.environment, definition.name),
        replicas: definition.replicas,
        maxReplicas: definition.maxReplicas,
        spreadOverZones: config.cluster.zones.length > 1,
        mesh: this.mesh,
        trustBundle: props.trustBundle,
        exemptions: exemptionsFor(definition, config.environment),
        // Behind basic auth the metrics need credentials, which the pod annotations cannot give.
        scrapeMetrics: !basicAuth,
      });
      if (!openSource) {
        // infra-services: the API and UI hostnames are "the CLOUD_UI_URL and CLOUD_API_URL values".
        service.addEnv('CLOUD_API_URL', { value: `https://${config.hostnames.api}` });
        service.addEnv('CLOUD_UI_URL', { value: `https://${config.hostnames.app}` });
      }
      for (const database of definition.databases) data.postgres.grantDatabase(service, database);
      for (const role of definition.redis) {
        const server = data.redis[redisInstanceFor(config.redis.roles, role)];
        if (!server) throw new Error(`service ${definition.name}: Redis "${role}" is not an instance of the ${config.edition} edition`);
        server.allowFrom(service, role);
      }
      if (openSource) {
        const settings = openSourceSettings(config, {
          redisTls: config.redis.messaging.provider === 'external' && (config.redis.messaging.external?.tls ?? true),
          authString: basicAuth ? data.secrets.keyRef('api-auth', 'auth-string', namespace) : undefined,
          api: definition.type === 'web',
        });
        for (const [name, value] of settings) service.addEnv(name, value);
      }
      if (definition.name === SSO_SERVICE && config.prefect.sso) {
        const sso = ssoEnvironment(config.prefect.sso, (provider, key) => data.secrets.keyRef(`sso-${provider}`, key, namespace));
        for (const [name, value] of sso) service.addEnv(name, value);
      }
      for (const [name, setting] of Object.entries(definition.env)) {
        service.addEnv(
          name,
          typeof setting === 'string'
            ? { value: setting }
            : {
                secretKeyRef: data.secrets.configuredKeyRef(
                  setting.secret,
                  setting.key,
                  namespace,
                  `prefect.services.${definition.name}.env.${name}`,
                ),
              },
        );
      }
      return service;
    });

    // The services call each other's APIs (which service calls which is not published: every
    // service may call every web service, by identity); the gateway's pods reach the routed ones.
    for (const web of this.services.filter((service) => service.definition.type === 'web')) {
      for (const client of this.services) web.allowFrom(client);
      if (web.definition.host !== 'internal') web.allowFrom(props.gateway);
    }
  }
}

/** Why a service is exempt from policy checks (lib/policy), by design. */
function exemptionsFor(
  service: ResolvedService,
  environment: string,
): { workload: Record<string, string>; autoscaler: Record<string, string> } {
  let workload = {};
  let autoscaler = {};
  if (service.type !== 'web') {
    const reason = `a ${service.type} service serves no HTTP and Prefect documents no health command for it; Kubernetes restarts the container when its process exits`;
    workload = exemptions({
      kubeLinter: { 'no-liveness-probe': reason, 'no-readiness-probe': reason },
      polaris: { livenessProbeMissing: reason, readinessProbeMissing: reason },
    });
  }
  // The Deployment carries no replica count (its HPA owns it; deploymentMissingReplicas accepts
  // that), so a single replica shows only on the HPA.
  if (service.type !== 'loop' && service.replicas < 2) {
    autoscaler = exemptions({
      polaris: {
        hpaMinAvailability: `one replica in ${environment} by configuration (prefect.replicas): a single-node environment has no second node to spread to`,
      },
    });
  }
  return { workload, autoscaler };
}

function componentOf(service: ResolvedService): string {
  return service.type === 'web' ? (service.image === 'ui' ? 'ui' : 'api') : service.type;
}
