import { JSDOM } from 'jsdom';
import { beforeAll, describe, expect, it } from 'vitest';
import { build, ENVIRONMENTS } from '../helpers';

/** Mermaid's own parser: it needs a DOM, which jsdom provides. */
let parse: (text: string) => Promise<unknown>;
beforeAll(async () => {
  const dom = new JSDOM('<!doctype html><html><body></body></html>');
  Object.assign(globalThis, { window: dom.window, document: dom.window.document });
  const mermaid = (await import('mermaid')).default;
  parse = (text) => mermaid.parse(text);
});

const diagramOf = (readme: string) => {
  const match = /```mermaid\n([\s\S]*?)\n```/.exec(readme);
  if (!match?.[1]) throw new Error('no mermaid block in the README');
  return match[1];
};

describe.each(ENVIRONMENTS)('dist/%s/README.md', (environment) => {
  const rendered = build(environment);
  const readme = rendered.files.get('README.md') as string;

  it('has a traffic diagram that Mermaid parses', async () => {
    await expect(parse(diagramOf(readme))).resolves.toMatchObject({ diagramType: 'flowchart-v2' });
  });

  it('draws every service and every relation of the catalog', () => {
    const diagram = diagramOf(readme);
    const workloads = rendered.objects.filter(
      ({ layer, object }) => layer === 'prefect' && ['Deployment', 'StatefulSet'].includes(object.kind),
    );
    expect(workloads.map(({ object }) => object.kind)).toContain('StatefulSet');
    for (const { object } of workloads) {
      expect(diagram).toContain(`svc_${object.metadata.name.replace(/-/g, '_')}[`);
    }
    expect(diagram).toContain('svc_server --> db_orion');
    expect(diagram).toContain('svc_events --> redis_streams');
    expect(diagram).not.toContain('svc_ui --> db_');
  });

  it('says how to create every Secret that a pod reads, in its namespace', () => {
    const created = new Set(
      [...readme.matchAll(/^kubectl --namespace (\S+) create secret \S+ (\S+)/gm)].map((match) => `${match[1]}/${match[2]}`),
    );
    const read = new Set<string>();
    const visit = (node: unknown, namespace: string): void => {
      if (Array.isArray(node)) {
        for (const item of node) visit(item, namespace);
        return;
      }
      if (node === null || typeof node !== 'object') return;
      const record = node as Record<string, any>;
      if (record.secretKeyRef?.name) read.add(`${namespace}/${record.secretKeyRef.name}`);
      if (record.secret?.secretName) read.add(`${namespace}/${record.secret.secretName}`);
      if (Array.isArray(record.imagePullSecrets)) for (const secret of record.imagePullSecrets) read.add(`${namespace}/${secret.name}`);
      for (const value of Object.values(record)) visit(value, namespace);
    };
    for (const { object } of rendered.objects)
      if (['Deployment', 'StatefulSet', 'Job'].includes(object.kind)) visit(object.spec, object.metadata.namespace as string);
    expect(read.size).toBeGreaterThan(0);
    expect([...read].filter((secret) => !created.has(secret))).toEqual([]);
  });

  it('lists the routes, the capacity summary and the object count per layer', () => {
    expect(readme).toMatch(/\| nebula \| api\.[a-z.]+ \| exact "\/api" or prefix "\/api\/" \| nebula:8080 \|/);
    expect(readme).toContain(`capacity of ${environment}:`);
    const total = Number(/\| total \| (\d+) \|/.exec(readme)?.[1]);
    expect(total).toBe(rendered.objects.length);
  });
});

it('fails to parse a broken diagram (the check can fail)', async () => {
  await expect(parse('flowchart LR\n  a["unclosed --> b')).rejects.toThrow(/Parse error/);
});
