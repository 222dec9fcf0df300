/*
 * dist/<env>/README.md: the reviewer's view of an environment. A pull request shows the
 * architecture change (traffic diagram, route table, capacity, object counts) next to the YAML.
 */
import { generatedLine } from './render';

export interface ReviewedRoute {
  readonly host: string;
  readonly name: string;
  /** How the path is matched, e.g. "prefix /api/" or "regex ^/api/accounts/[^/]+/…". */
  readonly match: string;
  readonly backend: string;
  readonly port: number;
  readonly notes: string;
}

export interface ReviewedService {
  readonly name: string;
  readonly type: string;
  readonly replicas: string;
  readonly databases: readonly string[];
  readonly redis: readonly string[];
}

export interface ReviewerViewInput {
  readonly environment: string;
  readonly configFile: string;
  readonly loadBalancer: string;
  readonly tls: string;
  readonly routes: readonly ReviewedRoute[];
  readonly services: readonly ReviewedService[];
  readonly postgres: string;
  readonly redis: Readonly<Record<string, string>>;
  readonly capacity: string;
  /** How the Secrets that the objects read come to exist (shell lines or a description). */
  readonly secrets: { readonly intro: string; readonly commands: readonly string[] };
  readonly flux: ReviewedFlux;
  /** The Operations section: how PostgreSQL is backed up and restored (paragraphs, then shell lines). */
  readonly backups: { readonly paragraphs: readonly string[]; readonly restore: readonly string[] };
  /** The Operations section: what is scraped, and the alerts with their runbooks (none when monitoring is off). */
  readonly monitoring: {
    readonly paragraphs: readonly string[];
    readonly alerts: readonly {
      readonly alert: string;
      readonly severity: string;
      readonly for: string;
      readonly summary: string;
      readonly description: string;
      readonly runbook: readonly string[];
    }[];
  };
  readonly objectsPerLayer: ReadonlyArray<readonly [string, number]>;
}

export interface ReviewedKustomization {
  readonly name: string;
  /** The file in `dist/<env>/flux/` that holds it. */
  readonly file: string;
  readonly path: string;
  readonly after?: string;
  /** How it is ready, its timeout, its decryption. */
  readonly notes: string;
  /** Whether the folder is this environment's output (not the user's folder of encrypted Secrets). */
  readonly generated: boolean;
}

export interface ReviewedFlux {
  readonly namespace: string;
  readonly source: { readonly kind: string; readonly name: string; readonly namespace: string };
  /** Path of `dist/<env>` inside the source. */
  readonly root: string;
  /** Where `dist/<env>` is in this repository, e.g. "dist/prod". */
  readonly folder: string;
  readonly kustomizations: readonly ReviewedKustomization[];
}

/** A Mermaid node id: letters, digits and underscores only. */
function id(prefix: string, name: string): string {
  return `${prefix}_${name.replace(/[^A-Za-z0-9]/g, '_')}`;
}

/** Mermaid labels are quoted; quotes inside become the HTML entity. */
function label(text: string): string {
  return `"${text.replace(/"/g, '#quot;')}"`;
}

export function trafficDiagram(input: ReviewerViewInput): string {
  const lines = ['flowchart LR'];
  lines.push(`  clients([${label('Clients, workers, browsers')}]) --> lb[${label(`Load balancer: ${input.loadBalancer}`)}]`);
  lines.push(`  lb --> gateway[${label(`Istio ingress gateway, TLS: ${input.tls}`)}]`);
  for (const route of input.routes) {
    lines.push(`  gateway -->|${label(`${route.host.split('.')[0]}: ${route.name}`)}| ${id('svc', route.backend)}`);
  }
  lines.push('  subgraph prefect[Prefect services]');
  for (const service of input.services) lines.push(`    ${id('svc', service.name)}[${label(`${service.name} (${service.type})`)}]`);
  lines.push('  end');
  const databases = [...new Set(input.services.flatMap((service) => service.databases))].sort();
  const instances = [...new Set(input.services.flatMap((service) => service.redis))].sort();
  lines.push(`  subgraph postgres[${label(`PostgreSQL: ${input.postgres}`)}]`);
  for (const database of databases) lines.push(`    ${id('db', database)}[(${label(database)})]`);
  lines.push('  end');
  lines.push('  subgraph redis[Redis]');
  for (const instance of instances)
    lines.push(`    ${id('redis', instance)}[(${label(`${instance}: ${input.redis[instance] ?? 'in-cluster'}`)})]`);
  lines.push('  end');
  for (const service of input.services) {
    for (const database of service.databases) lines.push(`  ${id('svc', service.name)} --> ${id('db', database)}`);
    for (const instance of service.redis) lines.push(`  ${id('svc', service.name)} --> ${id('redis', instance)}`);
  }
  return lines.join('\n');
}

function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const escapeCell = (cell: string) => cell.replace(/\|/g, '\\|');
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.map(escapeCell).join(' | ')} |`),
  ].join('\n');
}

export function environmentReadme(input: ReviewerViewInput): string {
  const total = input.objectsPerLayer.reduce((sum, [, count]) => sum + count, 0);
  return [
    `# ${input.environment}`,
    '',
    generatedLine(`\`${input.configFile}\``),
    '',
    '## Traffic',
    '',
    '```mermaid',
    trafficDiagram(input),
    '```',
    '',
    '## Routes',
    '',
    'Evaluated in order; the first match wins.',
    '',
    table(
      ['route', 'host', 'match', 'backend', 'notes'],
      input.routes.map((route) => [route.name, route.host, route.match, `${route.backend}:${route.port}`, route.notes]),
    ),
    '',
    '## Services',
    '',
    table(
      ['service', 'type', 'replicas', 'databases', 'redis'],
      input.services.map((service) => [
        service.name,
        service.type,
        service.replicas,
        service.databases.join(', ') || '–',
        service.redis.join(', ') || '–',
      ]),
    ),
    '',
    '## Secrets',
    '',
    input.secrets.intro,
    '',
    ...(input.secrets.commands.length > 0 ? ['```sh', ...input.secrets.commands, '```', ''] : []),
    ...fluxSection(input.flux),
    '## Operations',
    '',
    ...input.backups.paragraphs.flatMap((paragraph) => [paragraph, '']),
    ...(input.backups.restore.length > 0 ? ['```sh', ...input.backups.restore, '```', ''] : []),
    ...monitoringSection(input.monitoring),
    '## Capacity',
    '',
    '```',
    input.capacity,
    '```',
    '',
    '## Objects',
    '',
    table(['layer', 'objects'], [...input.objectsPerLayer.map(([layer, count]) => [layer, String(count)]), ['total', String(total)]]),
    '',
  ].join('\n');
}

/** An alert's text for the README: its label templates as placeholders. */
const placeholders = (text: string) => text.replace(/\{\{ \$labels\.(\w+) \}\}/g, '<$1>');

function monitoringSection(monitoring: ReviewerViewInput['monitoring']): string[] {
  const lines = ['### Monitoring', '', ...monitoring.paragraphs.flatMap((paragraph) => [paragraph, ''])];
  if (monitoring.alerts.length === 0) return lines;
  lines.push(
    table(
      ['alert', 'severity', 'after', 'when'],
      monitoring.alerts.map((alert) => [
        `[${alert.alert}](#${alert.alert.toLowerCase()})`,
        alert.severity,
        alert.for,
        placeholders(alert.summary).replace(/\|/g, '\\|'),
      ]),
    ),
    '',
    '### Runbooks',
    '',
  );
  for (const alert of monitoring.alerts) {
    lines.push(
      `#### ${alert.alert}`,
      '',
      placeholders(alert.description),
      '',
      ...alert.runbook.map((step) => `- ${placeholders(step)}`),
      '',
    );
  }
  return lines;
}

function fluxSection(flux: ReviewedFlux): string[] {
  const root = flux.root.replace(/\/+$/, '');
  const source = `${flux.source.kind} ${flux.source.namespace}/${flux.source.name}`;
  const origin =
    flux.source.kind === 'OCIRepository'
      ? [
          `The source is the ${source}: on every change, push \`${flux.folder}\` as its artifact (the paths below are inside it), for example:`,
          '',
          '```sh',
          `flux push artifact oci://<registry>/<repository>:$(git rev-parse --short HEAD) --path=./${flux.folder} --source="$(git config --get remote.origin.url)" --revision="$(git branch --show-current)@sha1:$(git rev-parse HEAD)"`,
          '```',
          '',
          `and move the tag the ${flux.source.kind} follows with \`flux tag artifact\`.`,
        ]
      : [`The source is the ${source}, which \`flux bootstrap\` created.`];
  const reviewed = flux.kustomizations.filter((kustomization) => kustomization.generated);
  return [
    '## Flux',
    '',
    `Point the cluster's bootstrap Kustomization at \`${root}/flux\`. It holds these Kustomizations, in the namespace \`${flux.namespace}\`; each starts once the one before it is ready. Their names carry the environment, so other environments' Kustomizations live beside them, and deleting or renaming one leaves its objects in place unless \`flux.deletionPolicy\` says otherwise.`,
    '',
    ...origin,
    '',
    table(
      ['Kustomization', 'path', 'after', 'notes'],
      flux.kustomizations.map((kustomization) => [kustomization.name, kustomization.path, kustomization.after ?? '–', kustomization.notes]),
    ),
    '',
    "Reviewing a change: what Flux would apply for a layer, built as kustomize-controller builds it, and what it would change in the cluster (the second needs the cluster's credentials). `--in-memory-build` leaves the checkout as it is (without it, the Flux CLI rewrites each folder's kustomization.yaml while it builds):",
    '',
    '```sh',
    ...reviewed.flatMap((kustomization) => {
      const folder = `./${flux.folder}/${kustomization.path.slice(root.length).replace(/^\//, '')}`;
      const file = `./${flux.folder}/flux/${kustomization.file}`;
      return [
        `flux build kustomization ${kustomization.name} --namespace ${flux.namespace} --path ${folder} --kustomization-file ${file} --in-memory-build --dry-run`,
        `flux diff kustomization ${kustomization.name} --namespace ${flux.namespace} --path ${folder} --kustomization-file ${file} --in-memory-build`,
      ];
    }),
    '```',
    '',
  ];
}
