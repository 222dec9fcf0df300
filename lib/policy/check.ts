import { hasPods, isCoreKind, podTemplateOf, type PodTemplate, type PolicyObject } from './model';

/** Where a check comes from; its name is the upstream one. */
export type CheckOrigin = 'kube-linter' | 'polaris';

/**
 * One policy check. `name` is the upstream check's name (kube-linter, Polaris), so a finding can
 * be looked up in the upstream documentation.
 */
export interface PolicyCheck {
  readonly name: string;
  readonly origin: CheckOrigin;
  /** One line: what a failure means. */
  readonly description: string;
  /** The objects the check evaluates (the rest are not counted for it). */
  readonly appliesTo: (object: PolicyObject) => boolean;
  /** One message per problem; none when the object passes. */
  readonly evaluate: (object: PolicyObject, context: CheckContext) => string[];
}

/** The check-making function of one origin: `const check = checksOf('polaris')`. */
export function checksOf(
  origin: CheckOrigin,
): (name: string, description: string, appliesTo: PolicyCheck['appliesTo'], evaluate: PolicyCheck['evaluate']) => PolicyCheck {
  return (name, description, appliesTo, evaluate) => ({ name, origin, description, appliesTo, evaluate });
}

/**
 * All objects of one environment, with the lookups that cross-object checks need (services and
 * pods, network policies and pods, budgets, autoscalers and service accounts).
 */
export class CheckContext {
  private readonly byKind = new Map<string, PolicyObject[]>();
  private templates?: PodTemplate[];

  constructor(public readonly objects: readonly PolicyObject[]) {
    for (const object of objects) {
      const list = this.byKind.get(object.kind) ?? [];
      list.push(object);
      this.byKind.set(object.kind, list);
    }
  }

  /** Objects of `kind` in API group `group` ('' is the core group). */
  public ofKind(group: string, kind: string): PolicyObject[] {
    return (this.byKind.get(kind) ?? []).filter((object) => isCoreKind(object, group, kind));
  }

  /** Objects of `kind` in `group` whose namespace is exactly `namespace` (unset matches unset). */
  public inNamespace(group: string, kind: string, namespace: string | undefined): PolicyObject[] {
    return this.ofKind(group, kind).filter((object) => object.metadata.namespace === namespace);
  }

  /** Every pod template (and Pod) in the environment. */
  public podTemplates(): PodTemplate[] {
    this.templates ??= this.objects.filter(hasPods).map((object) => podTemplateOf(object) as PodTemplate);
    return this.templates;
  }

  /** The pod templates whose pods run in `namespace`. */
  public podTemplatesIn(namespace: string | undefined): PodTemplate[] {
    return this.podTemplates().filter((template) => template.namespace === namespace);
  }
}
