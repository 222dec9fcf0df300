/*
 * The configuration that fits the output to a company's cluster without changing the code:
 * where pods run (scheduling), where images and charts come from (images, charts), metadata on
 * every object, more Helm values for the platform releases, and patches by kind, namespace and
 * name. lib/customize/ applies them to the synthesized objects, before validation.
 */
import { z } from 'zod';
import { labelKey, labelMap, labelValue, labelValueMap, objectName } from './fields';
import { need } from './json-rules';

/** Prefixes that Kubernetes, Istio, Flux and this project own: never set from the configuration. */
export const RESERVED_LABEL_PREFIXES = ['kubernetes.io/', 'k8s.io/', 'app.kubernetes.io/', 'istio.io/', 'fluxcd.io/', 'toolkit.fluxcd.io/'];
/** A key under a reserved prefix (or a subdomain of one: `node.kubernetes.io/…`), or this project's. */
const RESERVED_KEY_PATTERN = `^(?:[^/]*\\.)?(?:${RESERVED_LABEL_PREFIXES.map((prefix) => prefix.replace(/[.]/g, '\\.')).join('|')})|^prefect-cdk8s`;
const reserved = (key: string) => new RegExp(RESERVED_KEY_PATTERN).test(key);

const toleration = z.strictObject({
  key: labelKey.optional().describe('The taint key; omit with operator "Exists" to tolerate every taint.'),
  operator: z.enum(['Equal', 'Exists']).default('Equal').describe('"Equal" (key and value) or "Exists" (the key alone).'),
  value: labelValue.optional().describe('The taint value, with operator "Equal".'),
  effect: z
    .enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute'])
    .optional()
    .describe('The taint effect it tolerates; omit for every effect.'),
  tolerationSeconds: z.int().min(0).optional().describe('With effect NoExecute: how long the pod stays on the node once tainted.'),
});

/** Where one workload's pods may run. */
const placement = z.strictObject({
  nodeSelector: labelValueMap
    .optional()
    .describe('Node labels the pods require (merged over the default\'s, key by key), e.g. { "node-pool": "database" }.'),
  tolerations: z.array(toleration).optional().describe("Taints the pods tolerate (added to the default's)."),
  nodeAffinity: z
    .record(z.string(), z.unknown())
    .optional()
    .describe(
      "A Kubernetes nodeAffinity (requiredDuringSchedulingIgnoredDuringExecution, preferredDuringSchedulingIgnoredDuringExecution); replaces the default's. Checked against the Kubernetes schema with the objects.",
    ),
  topologySpreadConstraints: z
    .array(z.record(z.string(), z.unknown()))
    .optional()
    .describe(
      "More Kubernetes topologySpreadConstraints, added after the ones this project sets; each needs maxSkew, topologyKey and whenUnsatisfiable, and gets the workload's labelSelector when it has none.",
    ),
});
export type Placement = z.infer<typeof placement>;

/**
 * The workloads that scheduling names (lib/customize/customize.ts, workloadGroups): every pod this project or
 * its Helm releases run. Prefect services also by name (their catalog names).
 */
export const WORKLOAD_GROUPS = [
  'prefect',
  'type:web',
  'type:background',
  'type:consumer',
  'type:loop',
  'postgres',
  'redis',
  'redis-cache',
  'redis-work',
  'redis-streams',
  'redis-messaging',
  'jobs',
  'postgres-init',
  'migrations',
  'postgres-backup',
  'gateway',
  'istiod',
  'cert-manager',
  'trust-manager',
  'cloudnative-pg',
  'external-secrets',
  'keda',
] as const;

export const scheduling = z
  .strictObject({
    default: placement.optional().describe('For every workload this project emits or installs.'),
    workloads: z
      .record(
        z.string().regex(/^(?:type:)?[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/, {
          error: 'expected a workload name such as "postgres", "type:consumer" or a Prefect service',
        }),
        placement,
      )
      .default({})
      .describe(
        `Per workload, merged over the default in this order: "prefect" (every Prefect service), "type:<web|background|consumer|loop>", the service's name; "redis", then "redis-<instance>"; "jobs", then "postgres-init", "migrations" or "postgres-backup". Others: ${WORKLOAD_GROUPS.filter((group) => !group.startsWith('type:')).join(', ')}.`,
      ),
  })
  .describe(
    'Where pods run: nodeSelector, tolerations, node affinity and more topology spread, for every workload, including the platform releases (through their chart values).',
  );

const registryHost = z
  .string()
  .regex(/^[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?(?::\d+)?$/, { error: 'expected a registry host such as "docker.io" or "ghcr.io"' });
const registryPrefix = z.string().regex(/^[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?(?::\d+)?(?:\/[a-z0-9._-]+)*$/, {
  error: 'expected a registry and an optional path such as "harbor.example.com/dockerhub"',
});

export const images = z
  .strictObject({
    mirrors: z
      .record(registryHost, registryPrefix)
      .default({})
      .describe(
        'Where to pull each registry\'s images from instead: { "docker.io": "harbor.example.com/dockerhub", "ghcr.io": "harbor.example.com/ghcr" }. Every image of the output and of the Istio charts is rewritten; digests stay.',
      ),
    pullSecrets: z
      .array(objectName)
      .default([])
      .describe(
        'Secrets of type kubernetes.io/dockerconfigjson for the mirror, in every namespace that pulls: added to every pod of the output and to the Istio charts.',
      ),
  })
  .describe('Image mirrors and pull secrets.');

const chartSource = z.strictObject({
  url: z
    .string()
    .regex(/^(?:https:\/\/|oci:\/\/)[^\s]+$/, { error: 'expected an https:// chart repository or an oci:// registry URL' })
    .describe('The chart repository (https://…) or OCI registry (oci://…, a HelmRepository of type oci) to read the charts from.'),
  secretRef: objectName.optional().describe("A Secret in the Flux namespace with the repository's credentials."),
});

export const charts = z
  .record(objectName, chartSource)
  .default({})
  .describe(
    'Per Flux HelmRepository of the platform layer (istio, jetstack, cloudnative-pg, external-secrets): another URL, such as a mirror or an OCI registry.',
  );

export const metadata = z
  .strictObject({
    labels: labelValueMap
      .default({})
      .describe(
        'Labels on every object and pod template of the output (cost centre, team), never over a label the project sets; not under kubernetes.io/, app.kubernetes.io/, istio.io/ or fluxcd.io/.',
      ),
    annotations: labelMap
      .default({})
      .describe('Annotations on every object and pod template of the output, never over one the project sets.'),
  })
  .superRefine((value, context) => {
    for (const [field, map] of [
      ['labels', value.labels],
      ['annotations', value.annotations],
    ] as const) {
      for (const key of Object.keys(map)) {
        if (reserved(key)) {
          context.addIssue({
            code: 'custom',
            path: [field, key],
            message: `expected a key of your own: ${RESERVED_LABEL_PREFIXES.join(', ')} and prefect-cdk8s belong to Kubernetes, Istio, Flux and this project`,
          });
        }
      }
    }
  })
  .meta({
    allOf: [
      {
        type: 'object',
        properties: Object.fromEntries(
          ['labels', 'annotations'].map((field) => [field, { type: 'object', propertyNames: { not: { pattern: RESERVED_KEY_PATTERN } } }]),
        ),
      },
    ],
  })
  .describe('Common labels and annotations.');

export const helmValues = z
  .record(objectName, z.record(z.string(), z.unknown()))
  .default({})
  .describe(
    'Per HelmRelease of the platform layer (istiod, istio-cni, istio-ingressgateway, cert-manager, trust-manager, …): values merged over the generated ones (mappings merge, lists and scalars replace, null removes a key).',
  );

const patchTarget = z.strictObject({
  kind: z
    .string()
    .regex(/^[A-Z][A-Za-z0-9]*$/, { error: 'expected a kind such as "Deployment"' })
    .describe('The kind of the object.'),
  name: objectName.describe("The object's name."),
  namespace: objectName.optional().describe("The object's namespace; omit for a cluster-scoped object (or when the name is unique)."),
});

const jsonPatchOperation = z.strictObject({
  op: z.enum(['add', 'remove', 'replace', 'test', 'move', 'copy']).describe('The RFC 6902 operation.'),
  path: z
    .string()
    .regex(/^(?:\/[^/]*)*$/, { error: 'expected a JSON pointer such as "/spec/template/spec/priorityClassName"' })
    .describe('A JSON pointer into the object.'),
  value: z.unknown().optional().describe('The value, for add, replace and test.'),
  from: z
    .string()
    .regex(/^(?:\/[^/]*)*$/, { error: 'expected a JSON pointer' })
    .optional()
    .describe('The source, for move and copy.'),
});

export const patches = z
  .array(
    z
      .strictObject({
        target: patchTarget.describe('The object to patch: synthesis fails when it does not exist.'),
        merge: z
          .record(z.string(), z.unknown())
          .optional()
          .describe('An RFC 7386 merge patch: mappings merge, lists and scalars replace, null removes a key.'),
        jsonPatch: z.array(jsonPatchOperation).min(1).optional().describe('RFC 6902 operations, applied in order.'),
      })
      .superRefine((patch, context) => {
        if ((patch.merge === undefined) === (patch.jsonPatch === undefined)) {
          context.addIssue({ code: 'custom', path: ['merge'], message: 'expected either merge or jsonPatch (one of them)' });
        }
      })
      .meta({ oneOf: [need('merge'), need('jsonPatch')] }),
  )
  .default([])
  .describe(
    'Changes to objects that no setting names, by kind, namespace and name: applied last, before validation, so that the patched objects are strictly validated, policy-checked and shown by `make diff`.',
  );
