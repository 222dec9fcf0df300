/*
 * The fields the API server refuses to update, compared between the committed object in dist/ and
 * the one about to replace it: a change there would make Flux's apply fail, and every later layer
 * stall, until someone deleted the object by hand. The rules follow Kubernetes' own update
 * validation (k8s.io/kubernetes, pkg/apis/<group>/validation/validation.go):
 *
 *   StatefulSet       ValidateStatefulSetUpdate: spec fields other than replicas, ordinals,
 *                     template, updateStrategy, revisionHistoryLimit,
 *                     persistentVolumeClaimRetentionPolicy and minReadySeconds (apps)
 *   Deployment        ValidateDeploymentUpdate: spec.selector (apps)
 *   Job               ValidateJobSpecUpdate: spec.selector, template, completionMode,
 *                     podFailurePolicy, backoffLimitPerIndex, managedBy, successPolicy (batch)
 *   Service           ValidateServiceUpdate: spec.clusterIP and spec.clusterIPs, once set (core);
 *                     dropping them is no change under server-side apply, which keeps the live value
 *   ConfigMap         ValidateConfigMapUpdate: data, binaryData and immutable, once immutable (core)
 *   PriorityClass     ValidatePriorityClassUpdate: value, preemptionPolicy (scheduling)
 *   IngressClass      ValidateIngressClassUpdate: spec.controller (networking)
 *
 * An object that Flux replaces instead of updating (`kustomize.toolkit.fluxcd.io/force: enabled`,
 * the hash-named Jobs) is exempt: Flux deletes and recreates it.
 */
import { isDeepStrictEqual } from 'node:util';
import type { KubernetesObject } from '../output/render';

const FLUX_FORCE = 'kustomize.toolkit.fluxcd.io/force';
const STATEFULSET_MUTABLE = [
  'replicas',
  'ordinals',
  'template',
  'updateStrategy',
  'revisionHistoryLimit',
  'persistentVolumeClaimRetentionPolicy',
  'minReadySeconds',
];

export interface ImmutableChange {
  /** The changed field, as a path (`spec.volumeClaimTemplates`). */
  readonly field: string;
  /** Where in it the first difference is (`spec.volumeClaimTemplates[0].spec.storageClassName`), with both values. */
  readonly path: string;
  readonly before: unknown;
  readonly after: unknown;
}

type Json = Record<string, unknown>;

function at(object: unknown, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>((node, key) => (node !== null && typeof node === 'object' ? (node as Json)[key] : undefined), object);
}

/** The first place where two different values differ: descends into mappings and lists of equal length. */
function firstDifference(before: unknown, after: unknown, path: string): { path: string; before: unknown; after: unknown } {
  if (Array.isArray(before) && Array.isArray(after) && before.length === after.length) {
    const index = before.findIndex((item, position) => !isDeepStrictEqual(item, after[position]));
    return firstDifference(before[index], after[index], `${path}[${index}]`);
  }
  const isMapping = (value: unknown): value is Json => value !== null && typeof value === 'object' && !Array.isArray(value);
  if (isMapping(before) && isMapping(after)) {
    const key = [...new Set([...Object.keys(before), ...Object.keys(after)])].find(
      (name) => !isDeepStrictEqual(before[name], after[name]),
    ) as string;
    return firstDifference(before[key], after[key], `${path}.${key}`);
  }
  return { path, before, after };
}

function changed(before: unknown, after: unknown, paths: readonly string[]): ImmutableChange[] {
  return paths
    .filter((path) => !isDeepStrictEqual(at(before, path), at(after, path)))
    .map((field) => ({ field, ...firstDifference(at(before, field), at(after, field), field) }));
}

/** The fields of `before` → `after` (the same kind, namespace and name) that the API server will not update. */
export function immutableChanges(before: KubernetesObject, after: KubernetesObject): ImmutableChange[] {
  if (before.kind !== after.kind || before.apiVersion !== after.apiVersion) return [];
  if (after.metadata.annotations?.[FLUX_FORCE] === 'enabled') return [];
  const group = after.apiVersion.includes('/') ? after.apiVersion.slice(0, after.apiVersion.indexOf('/')) : '';
  switch (`${group}/${after.kind}`) {
    case 'apps/StatefulSet': {
      const keys = new Set([...Object.keys((before.spec as Json) ?? {}), ...Object.keys((after.spec as Json) ?? {})]);
      return changed(
        before,
        after,
        [...keys].filter((key) => !STATEFULSET_MUTABLE.includes(key)).map((key) => `spec.${key}`),
      );
    }
    case 'apps/Deployment':
      return changed(before, after, ['spec.selector']);
    case 'batch/Job':
      return changed(before, after, [
        'spec.selector',
        'spec.template',
        'spec.completionMode',
        'spec.podFailurePolicy',
        'spec.backoffLimitPerIndex',
        'spec.managedBy',
        'spec.successPolicy',
      ]);
    case '/Service':
      // Both sides of ExternalName may change their cluster IP; otherwise it is fixed once set.
      if (at(before, 'spec.type') === 'ExternalName' || at(after, 'spec.type') === 'ExternalName') return [];
      return changed(
        before,
        after,
        ['spec.clusterIP', 'spec.clusterIPs'].filter((field) => at(after, field) !== undefined),
      );
    case '/ConfigMap':
      return before.immutable === true ? changed(before, after, ['immutable', 'data', 'binaryData']) : [];
    case 'scheduling.k8s.io/PriorityClass':
      return changed(before, after, ['value', 'preemptionPolicy']);
    case 'networking.k8s.io/IngressClass':
      return changed(before, after, ['spec.controller']);
    default:
      return [];
  }
}

/** What to do about a refused change: the manual steps, for the message. */
export function immutableChangeSteps(object: KubernetesObject, change: ImmutableChange): string {
  const { kind, metadata } = object;
  const namespace = metadata.namespace ? `-n ${metadata.namespace} ` : '';
  const resource = kind.toLowerCase();
  const grown = /^spec\.volumeClaimTemplates\[(\d+)\]\.spec\.resources\.requests\.storage$/.exec(change.path);
  if (kind === 'StatefulSet' && grown) {
    // A template only shapes claims still to be created: the existing claim is resized itself.
    const templates = (object.spec as { volumeClaimTemplates?: Array<{ metadata?: { name?: string } }> }).volumeClaimTemplates ?? [];
    const claim = `${templates[Number(grown[1])]?.metadata?.name ?? 'data'}-${metadata.name}-0`;
    const patch = JSON.stringify({ spec: { resources: { requests: { storage: change.after } } } });
    return `grow the existing claim itself first (\`kubectl ${namespace}patch pvc ${claim} --patch '${patch}'\`, for each replica's claim; its StorageClass must allow volume expansion), then delete the StatefulSet without its pods (\`kubectl ${namespace}delete ${resource} ${metadata.name} --cascade=orphan\`) and Flux recreates it over them`;
  }
  if (kind === 'StatefulSet' || kind === 'Deployment') {
    return `delete the ${kind} without its pods (\`kubectl ${namespace}delete ${resource} ${metadata.name} --cascade=orphan\`: the pods and their volume claims stay) and Flux recreates it over them`;
  }
  return `delete it (\`kubectl ${namespace}delete ${resource} ${metadata.name}\`) and Flux creates it anew`;
}

/**
 * Why removing `object` from the output would delete more than the object itself, or undefined.
 * A Flux Kustomization that is deleted garbage-collects every object it applied when it is not
 * suspended and its deletion policy says so (kustomize-controller, internal/controller/
 * kustomization_controller.go, finalizerShouldDeleteResources: Delete and WaitForTermination
 * always, MirrorPrune, the default, when spec.prune is on; Orphan never): renaming a layer's
 * Kustomization would delete the layer's database and services before the new one re-creates them.
 */
export function removalCascade(object: KubernetesObject): string | undefined {
  if (object.kind !== 'Kustomization' || !object.apiVersion.startsWith('kustomize.toolkit.fluxcd.io/')) return undefined;
  const spec = (object.spec ?? {}) as { suspend?: boolean; prune?: boolean; deletionPolicy?: string };
  if (spec.suspend === true) return undefined;
  const policy = spec.deletionPolicy ?? 'MirrorPrune';
  const deletes = policy === 'Delete' || policy === 'WaitForTermination' || (policy === 'MirrorPrune' && spec.prune === true);
  if (!deletes) return undefined;
  return `deletionPolicy ${policy}${policy === 'MirrorPrune' ? ' with prune on' : ''}: once Flux deletes it, it deletes every object it applied`;
}

/** What to do before removing such an object: the manual steps, for the message. */
export function removalSteps(object: KubernetesObject): string {
  const { name, namespace = 'default' } = object.metadata;
  const patch = JSON.stringify({ spec: { deletionPolicy: 'Orphan' } });
  return `before this change reaches the cluster, let its objects outlive it: \`kubectl -n ${namespace} patch kustomization ${name} --type merge --patch '${patch}'\` (or \`flux suspend kustomization ${name} -n ${namespace}\`); the Kustomizations that replace it take its objects over on their first apply`;
}
