import { z } from 'zod';
import { dnsLabel, labelValueMap } from './fields';

/*
 * `monitoring`: what the monitoring layer emits for a Prometheus Operator the cluster brings
 * (README, "Monitoring").
 */

export const monitoring = z
  .strictObject({
    enabled: z
      .boolean()
      .default(false)
      .describe(
        'PodMonitors, ServiceMonitors and PrometheusRules (the monitoring layer), the PostgreSQL and Redis exporters, and the NetworkPolicies that let Prometheus scrape. Needs the Prometheus Operator and its CRDs in the cluster.',
      ),
    prometheus: z
      .strictObject({
        namespace: dnsLabel.default('monitoring').describe('The namespace Prometheus runs in.'),
        podLabels: labelValueMap
          .default({ 'app.kubernetes.io/name': 'prometheus' })
          .describe("Labels of the Prometheus pods: the NetworkPolicies' peers that may scrape."),
      })
      .prefault({})
      .describe('The Prometheus that scrapes: where it runs, for the NetworkPolicies.'),
    labels: labelValueMap
      .default({})
      .describe(
        'Labels on every PodMonitor, ServiceMonitor and PrometheusRule, for the selectors of your Prometheus (kube-prometheus-stack selects `release: <its release name>`).',
      ),
    runbookUrl: z
      .string()
      .regex(/^(https?:\/\/[^\s#]+|[^\s#:]+)$/, {
        error:
          'expected the address of this environment\'s README without a "#…" part, such as "https://git.example.com/platform/prefect/-/blob/main/dist/prod/README.md"',
      })
      .optional()
      .describe(
        "Where this environment's README (dist/<env>/README.md) is read, as your Git host shows it: each alert's runbook_url is this address and the section's anchor. The default is the path in the repository.",
      ),
  })
  .prefault({});

export type MonitoringConfig = z.output<typeof monitoring>;
