/*
 * The flux layer: Kustomization names per environment, the source kind, the deletion policy and
 * SOPS decryption, as the configuration asks, and what the environment's README says of them.
 */
import { describe, expect, it } from 'vitest';
import { checkEnvironment } from '../../lib/app/synthesize';
import { ConfigError, parseConfig } from '../../lib/config/load';
import { appliedLayersOf } from '../../lib/flux/layers';
import type { RenderedEnvironment } from '../../lib/output/render';
import { buildVariant, VARIANTS, variantText } from '../config-variants';
import { build, loadEnvironment, objectsOfKind, sharedValidator } from '../helpers';

type Spec = any;

function kustomizations(rendered: RenderedEnvironment): Array<{ name: string; spec: Spec }> {
  return objectsOfKind(rendered, 'Kustomization').map((object) => ({ name: object.metadata.name, spec: object.spec }));
}

function configProblems(environment: string, changes: Record<string, unknown>): readonly string[] {
  try {
    parseConfig(variantText(environment, changes), `config/${environment}.yaml`, environment);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems;
  }
}

describe('the flux layer', () => {
  it('names every Kustomization after the environment and its layer, and leaves the objects in place when one goes', () => {
    const rendered = build('staging');
    expect(kustomizations(rendered).map(({ name }) => name)).toEqual(
      appliedLayersOf(loadEnvironment('staging')).map((layer) => `prefect-staging-${layer}`),
    );
    for (const { spec } of kustomizations(rendered)) expect(spec.deletionPolicy).toBe('Orphan');
  });

  it("takes Flux's own deletion policy when asked", () => {
    const rendered = buildVariant('dev', { flux: { deletionPolicy: 'MirrorPrune' } });
    for (const { spec } of kustomizations(rendered)) expect(spec.deletionPolicy).toBe('MirrorPrune');
  });

  describe('from an OCI artifact, with SOPS-encrypted Secrets', () => {
    const rendered = buildVariant('prod', VARIANTS.ociSops);
    const byName = new Map(kustomizations(rendered).map(({ name, spec }) => [name, spec]));

    it('reads every layer from the OCIRepository, at paths inside the artifact pushed from dist/prod', () => {
      for (const layer of appliedLayersOf(loadEnvironment('prod'))) {
        const spec = byName.get(`prefect-prod-${layer}`);
        expect(spec.sourceRef).toEqual({ kind: 'OCIRepository', name: 'prefect-prod', namespace: 'flux-system' });
        expect(spec.path).toBe(`./${layer}`);
        expect(spec.decryption).toBeUndefined();
      }
    });

    it('applies the encrypted Secrets after the platform layer (their namespaces) and before the edge (the first reader)', () => {
      const secrets = byName.get('prefect-prod-secrets');
      expect(secrets).toMatchObject({
        path: './secrets',
        decryption: { provider: 'sops', secretRef: { name: 'sops-age' } },
        dependsOn: [{ name: 'prefect-prod-platform', namespace: 'flux-system' }],
        sourceRef: { kind: 'OCIRepository', name: 'prefect-prod' },
        prune: true,
        wait: true,
      });
      expect(byName.get('prefect-prod-edge').dependsOn).toEqual([{ name: 'prefect-prod-secrets', namespace: 'flux-system' }]);
      expect(byName.get('prefect-prod-data').dependsOn).toEqual([{ name: 'prefect-prod-edge', namespace: 'flux-system' }]);
    });

    it('passes strict validation', () => {
      expect(checkEnvironment(rendered, sharedValidator())).toEqual([]);
    });

    it('tells in the README how to push the artifact and to write each Secret encrypted into the folder', () => {
      const readme = rendered.files.get('README.md') as string;
      expect(readme).toContain('The source is the OCIRepository flux-system/prefect-prod');
      expect(readme).toContain('flux push artifact oci://<registry>/<repository>:$(git rev-parse --short HEAD) --path=./dist/prod');
      expect(readme).toMatch(
        /kubectl --namespace prefect-data create secret generic prefect-postgres-superuser .* --dry-run=client --output=yaml \| sops --encrypt .* > secrets\/secret\.prefect-data\.prefect-postgres-superuser\.yaml/,
      );
      // The namespaces come from the platform layer before the Secrets: no command creates them.
      expect(readme).not.toContain('kubectl create namespace');
      // The folder of Secrets is the user's: nothing to build from dist/ for it.
      expect(readme).not.toContain('flux build kustomization prefect-prod-secrets');
      expect(readme).toContain(
        'flux build kustomization prefect-prod-data --namespace flux-system --path ./dist/prod/data --kustomization-file ./dist/prod/flux/kustomization.flux-system.prefect-prod-data.yaml --in-memory-build --dry-run',
      );
    });
  });

  it('with SOPS from Git, reads the Secrets from secrets/<environment> unless told otherwise', () => {
    const rendered = buildVariant('dev', { flux: { sops: { secretRef: 'sops-age' } } });
    const secrets = kustomizations(rendered).find(({ name }) => name === 'prefect-dev-secrets');
    expect(secrets?.spec.path).toBe('./secrets/dev');
    expect(secrets?.spec.sourceRef.kind).toBe('GitRepository');
  });

  it('refuses SOPS from an OCI artifact without the folder inside it', () => {
    expect(configProblems('prod', { flux: { sourceRef: { kind: 'OCIRepository' }, sops: { secretRef: 'sops-age' } } })).toEqual([
      'config/prod.yaml: flux.sops.path: required: expected the folder of encrypted Secrets inside the OCI artifact (e.g. "./secrets") when flux.sourceRef.kind is "OCIRepository"',
    ]);
  });

  it('refuses an unknown source kind and an unknown deletion policy', () => {
    const problems = configProblems('prod', { flux: { sourceRef: { kind: 'Bucket' }, deletionPolicy: 'Keep' } });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^config\/prod\.yaml: flux\.sourceRef\.kind: .*"GitRepository".*"OCIRepository"/);
    expect(problems[1]).toMatch(/^config\/prod\.yaml: flux\.deletionPolicy: .*"Orphan"/);
  });

  it('refuses an environment name too long for the label values it goes into', () => {
    const name = 'e'.repeat(45);
    const problems = (() => {
      try {
        parseConfig(variantText('dev', { environment: name }), `config/${name}.yaml`, name);
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    })();
    expect(problems).toEqual([
      `config/${name}.yaml: environment: expected at most 44 characters: the name goes into label values such as "prefect-<environment>-migrations", at most 63 characters, got "${name}"`,
    ]);
    expect(() => parseConfig(variantText('dev', { environment: name.slice(1) }), 'config/x.yaml', name.slice(1))).not.toThrow();
  });
});
