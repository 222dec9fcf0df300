import { Construct } from 'constructs';
import { PrometheusRule, PrometheusRuleSpecGroupsRulesExpr } from '../../imports/prometheus-operator-monitoring.coreos.com';
import { type AlertGroup, runbookAnchor } from './alert-rules';

export interface PrefectAlertRulesProps {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly environment: string;
  readonly groups: readonly AlertGroup[];
  /** The README the runbooks are in: each alert's runbook_url is it and the alert's anchor. */
  readonly runbookUrl: string;
}

/** The installation's alerts, one PrometheusRule; each alert labelled with its environment and severity. */
export class PrefectAlertRules extends Construct {
  constructor(scope: Construct, id: string, props: PrefectAlertRulesProps) {
    super(scope, id);
    new PrometheusRule(this, 'Resource', {
      metadata: { name: props.name, namespace: props.namespace, labels: props.labels },
      spec: {
        groups: props.groups.map((group) => ({
          name: group.name,
          rules: group.rules.map((rule) => ({
            alert: rule.alert,
            expr: PrometheusRuleSpecGroupsRulesExpr.fromString(rule.expr),
            for: rule.for,
            labels: { severity: rule.severity, environment: props.environment },
            annotations: {
              summary: rule.summary,
              description: rule.description,
              runbook_url: `${props.runbookUrl}#${runbookAnchor(rule.alert)}`,
            },
          })),
        })),
      },
    });
  }
}
