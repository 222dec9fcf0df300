/*
 * What dist/<env>/README.md shows of an environment, gathered from the app and its rendered
 * objects: traffic, routes, services, the Secrets to create, the Flux Kustomizations, backups, capacity.
 */
import { databasesOf, redisInstanceFor, redisInstancesOf } from '../catalog/services';
import { CLOUDNATIVE_PG_METRICS_PORT, CloudNativePostgres } from '../data/postgres/cloudnative-pg';
import { BACKUP_DIR, restoreCommands } from '../data/postgres/logical-backup';
import { kubectlCommands } from '../data/secrets/secrets';
import { describeMatch } from '../edge/routes/routes';
import { kustomizationName, layersOf } from '../flux/layers';
import type { ReviewedKustomization, ReviewerViewInput } from '../output/environment-readme';
import type { RenderedEnvironment } from '../output/render';
import { type CapacityReport, formatCapacity } from '../validation/capacity';
import type { PrefectApp } from './prefect-app';

/**
 * The Secrets this environment reads that the user creates, and how (they never live in dist/):
 * the namespaces they go into first, since on an empty cluster Flux has not created them yet.
 */
function secretsToCreate(app: PrefectApp): ReviewerViewInput['secrets'] {
  const { config } = app;
  const { secrets } = config;
  const own = [...app.edge.requiredSecrets, ...app.data.requiredSecrets];
  const catalog = secrets.provider === 'external-secrets' ? [] : app.data.secrets.all;
  const namespaces = [...new Set([...own, ...catalog].map((secret) => secret.namespace))].sort();
  const intro =
    secrets.provider === 'external-secrets'
      ? `External Secrets reads the installation's own Secrets from the ${secrets.store.kind} \`${secrets.store.name}\` (remote keys \`${secrets.remoteKeyPrefix}<id>\`, one property per key).${own.length > 0 ? ' Create the others below by hand (values never go into Git), the namespaces first.' : ' None is created by hand.'}`
      : 'Create them before Flux reconciles the layers that read them (values never go into Git), the namespaces first: on an empty cluster Flux has not created them yet, and adopts them when it does. Passwords go into connection URLs as they are: keep them URL-safe, as `openssl rand -hex 32` is.';
  if (namespaces.length === 0) return { intro, commands: [] };
  const commands = [
    ...own.flatMap((secret) => [`# ${secret.purpose}`, secret.command]),
    ...kubectlCommands(catalog, { registry: config.prefect.image.registry }),
  ];
  const { sops } = config.flux;
  if (sops && secrets.provider !== 'external-secrets') {
    const folder = sops.path.replace(/^\.\//, '').replace(/\/+$/, '');
    return {
      intro: `Commit them encrypted with SOPS in \`${folder}/\` (the Kustomization ${kustomizationName(config.environment, 'secrets')} decrypts them with the key in the Secret \`${config.flux.namespace}/${sops.secretRef}\`, after the platform layer has created their namespaces and before the layers that read them). Each line below writes one file; \`.sops.yaml\` names the recipients. Passwords go into connection URLs as they are: keep them URL-safe, as \`openssl rand -hex 32\` is.`,
      commands: [`mkdir -p ${folder}`, ...commands.map((line) => sopsEncrypted(line, folder))],
    };
  }
  return {
    intro,
    commands: [
      '# the namespaces the Secrets go into',
      ...namespaces.map(
        (namespace) => `kubectl create namespace ${namespace} --dry-run=client --output=yaml | kubectl apply --server-side --filename=-`,
      ),
      ...commands,
    ],
  };
}

/** A `kubectl create secret` line turned into one that writes the Secret SOPS-encrypted into `folder`; other lines as they are. */
function sopsEncrypted(line: string, folder: string): string {
  const secret = /^kubectl --namespace (\S+) create secret \S+ (\S+)/.exec(line);
  if (!secret) return line;
  return `${line} --dry-run=client --output=yaml | sops --encrypt --encrypted-regex '^(data|stringData)$' --input-type=yaml --output-type=yaml /dev/stdin > ${folder}/secret.${secret[1]}.${secret[2]}.yaml`;
}

/** "3 Jobs", "1 Bundle": what a layer waits for, without the hash-named Jobs' names (which change each release). */
function healthChecked(checks: ReadonlyArray<{ kind: string }>): string {
  const counts = new Map<string, number>();
  for (const { kind } of checks) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return [...counts].map(([kind, count]) => `${count} ${kind}${count === 1 ? '' : 's'}`).join(', ');
}

/** The Flux Kustomizations of the environment, in the order they apply, as the flux layer holds them. */
function fluxView(app: PrefectApp, rendered: RenderedEnvironment): ReviewerViewInput['flux'] {
  const { flux, environment } = app.config;
  type Spec = {
    path: string;
    wait?: boolean;
    timeout?: string;
    healthChecks?: Array<{ kind: string; name: string }>;
    dependsOn?: Array<{ name: string }>;
    decryption?: { provider: string; secretRef?: { name: string } };
  };
  const kustomizations: ReviewedKustomization[] = rendered.objects
    .filter(({ layer, object }) => layer === 'flux' && object.kind === 'Kustomization')
    .map(({ file, object }) => {
      const spec = object.spec as Spec;
      const ready = spec.wait
        ? 'ready once every object is'
        : `ready once applied${spec.healthChecks?.length ? ` and its health checks pass (${healthChecked(spec.healthChecks)})` : ''}`;
      const decryption = spec.decryption ? `, SOPS decryption with the Secret ${spec.decryption.secretRef?.name}` : '';
      return {
        name: object.metadata.name,
        file: file.slice('flux/'.length),
        path: spec.path,
        ...(spec.dependsOn?.[0] ? { after: spec.dependsOn[0].name } : {}),
        notes: `${ready}, timeout ${spec.timeout}${decryption}`,
        generated: spec.decryption === undefined,
      };
    });
  return { namespace: flux.namespace, source: flux.sourceRef, root: flux.path, folder: `dist/${environment}`, kustomizations };
}

/** What backs PostgreSQL up in this environment, and how to restore (README, "Backups and restore"). */
function monitoringView(app: PrefectApp): ReviewerViewInput['monitoring'] {
  const { monitoring, namespaces } = app.config;
  if (!monitoring.enabled) {
    return {
      paragraphs: ['Not monitored by this installation: set `monitoring.enabled` (the repository README, "Monitoring").'],
      alerts: [],
    };
  }
  const exporters = [
    app.config.postgres.provider === 'statefulset' ? 'postgres_exporter beside PostgreSQL' : undefined,
    'redis_exporter beside each Redis in the cluster',
  ].filter(Boolean);
  const cnpg = app.data.postgres instanceof CloudNativePostgres ? app.data.postgres : undefined;
  const scrape = app.monitoring?.cloudnativePg;
  const cloudnative =
    cnpg && scrape
      ? `the CloudNativePG instances' own exporter on port ${CLOUDNATIVE_PG_METRICS_PORT} over TLS (the PodMonitor \`${scrape.podMonitor}\`, which verifies their certificate against the Cluster's CA \`${cnpg.caSecret}\`; the NetworkPolicy \`${scrape.networkPolicy}\`), with CloudNativePG's default queries and the Prefect databases' table statistics (the ConfigMap \`${cnpg.monitoringQueries}\`); `
      : '';
  return {
    paragraphs: [
      `Scraped (the monitoring layer, for a Prometheus in \`${monitoring.prometheus.namespace}\` selecting ${
        Object.keys(monitoring.labels).length > 0
          ? Object.entries(monitoring.labels)
              .map(([key, value]) => `\`${key}: ${value}\``)
              .join(', ')
          : 'all monitors'
      }): every sidecar-injected pod of \`${namespaces.prefect}\`, \`${namespaces.data}\` and the gateway through its Istio agent on port 15020 (the application's metrics merged with Envoy's, outside mTLS; the NetworkPolicies \`prometheus-scrape\` open that port to Prometheus), with ${exporters.join(' and ')}; ${cloudnative}istiod on 15014; cert-manager through its chart's ServiceMonitor where this installation installs it. The rules also read kube-state-metrics and the kubelet's volume statistics, which a kube-prometheus-stack scrapes itself.`,
      `Alerts: the PrometheusRule \`${namespaces.prefect}/prefect-alerts\`, each alert labelled \`environment: ${app.config.environment}\` and with a runbook below.`,
    ],
    alerts: (app.monitoring?.alertGroups ?? []).flatMap((group) =>
      group.rules.map((rule) => ({
        alert: rule.alert,
        severity: rule.severity,
        for: rule.for,
        summary: rule.summary,
        description: rule.description,
        runbook: rule.runbook,
      })),
    ),
  };
}

function backupsView(app: PrefectApp): ReviewerViewInput['backups'] {
  const { config } = app;
  const { postgres, namespaces, environment } = config;
  const databases = databasesOf(config.edition);
  if (postgres.provider === 'cloudnativepg') {
    return postgres.backup
      ? {
          paragraphs: [
            `PostgreSQL (CloudNativePG): base backups and WAL archiving by the Barman Cloud plugin to \`${postgres.backup.destinationPath}\` under \`${postgres.backup.serverName ?? 'postgres'}\` (the ObjectStore \`${namespaces.data}/postgres\`), a ScheduledBackup at \`${postgres.backup.schedule}\` (six fields, seconds first), retention ${postgres.backup.retentionPolicy}.${postgres.backup.recovery ? ` This Cluster is created from the backups under \`${postgres.backup.recovery.serverName}\`${postgres.backup.recovery.targetTime ? `, replayed to ${postgres.backup.recovery.targetTime}` : ''}.` : ''} To restore: \`postgres.backup.recovery\` with a new \`serverName\` (the repository README, "Restoring CloudNativePG").`,
          ],
          restore: [],
        }
      : { paragraphs: ['PostgreSQL (CloudNativePG): **no backup is configured** (`postgres.backup`).'], restore: [] };
  }
  const backup = postgres.logicalBackup;
  if (!backup) {
    return {
      paragraphs: [
        `PostgreSQL: **no backup is configured**${postgres.provider === 'external' ? ' by this installation (the managed service may keep its own)' : ''}: set \`postgres.logicalBackup\` (the repository README, "Backups and restore").`,
      ],
      restore: [],
    };
  }
  const volume = `${backup.storage.size}${backup.storage.storageClass ? `, ${backup.storage.storageClass}` : ''}`;
  return {
    paragraphs: [
      `PostgreSQL: the CronJob \`${namespaces.data}/postgres-backup\` runs \`pg_dump\` of ${databases.join(', ')} and the roles (no passwords) at \`${backup.schedule}\` (UTC) into \`${BACKUP_DIR}/<UTC start>/\` on the volume \`postgres-backup\` (${volume}); the newest ${backup.keep} complete backups are kept. Redis holds nothing that must be restored.`,
      `To restore: stop the writers (\`flux suspend kustomization ${kustomizationName(environment, 'prefect')}\`, then \`kubectl --namespace ${namespaces.prefect} scale deployment,statefulset --all --replicas=0\`), make sure the init Jobs have run against the server, then, from a pod that mounts \`postgres-backup\` with the superuser's \`PG*\` variables (a Job made from the CronJob with its command replaced by a shell), for the backup \`<backup>\`:`,
    ],
    restore: [
      ...restoreCommands(databases, `${BACKUP_DIR}/<backup>`),
      `flux resume kustomization ${kustomizationName(environment, 'prefect')}`,
    ],
  };
}

export function reviewerView(
  app: PrefectApp,
  rendered: RenderedEnvironment,
  capacity: CapacityReport,
  configFile: string,
): ReviewerViewInput {
  const { config } = app;
  const count = (layer: string) => rendered.objects.filter((object) => object.layer === layer).length;
  return {
    environment: config.environment,
    configFile,
    loadBalancer: `${config.loadBalancer.mode.toUpperCase()}, ${config.loadBalancer.provider}`,
    tls: config.loadBalancer.mode === 'l7' ? 'ends at the load balancer' : config.tls.mode,
    routes: app.edge.routes.map((route) => ({
      host: route.host === 'api' ? config.hostnames.api : config.hostnames.app,
      name: route.name,
      match: route.match.map(describeMatch).join(' or '),
      backend: route.backend.name,
      port: route.port,
      notes: [
        route.websocket ? 'websockets' : '',
        route.timeout ? `timeout ${route.timeout}` : 'no timeout',
        `${route.retries.attempts} retries`,
      ]
        .filter(Boolean)
        .join(', '),
    })),
    services: app.catalog.map((service) => ({
      name: service.name,
      type: service.type,
      replicas: service.replicas === service.maxReplicas ? String(service.replicas) : `${service.replicas}-${service.maxReplicas}`,
      databases: service.databases,
      // The instances, whatever role a service uses them in (redis.roles).
      redis: [...new Set(service.redis.map((role) => redisInstanceFor(config.redis.roles, role)))],
    })),
    postgres: config.postgres.provider,
    redis: Object.fromEntries(redisInstancesOf(config.edition).map((name) => [name, config.redis[name].provider])),
    capacity: formatCapacity(capacity),
    secrets: secretsToCreate(app),
    flux: fluxView(app, rendered),
    backups: backupsView(app),
    monitoring: monitoringView(app),
    objectsPerLayer: layersOf(config).map((layer) => [layer, count(layer)] as const),
  };
}
