import type { KubernetesObject } from '../lib/output/render';

/** Every Secret an object refers to: env secretKeyRefs, secret volumes, CloudNativePG's references. */
export function secretReferences(objects: readonly KubernetesObject[]): Array<{ name: string; key?: string }> {
  const found: Array<{ name: string; key?: string }> = [];
  const walk = (node: unknown, parentKey: string): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item, parentKey);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (parentKey === 'secretKeyRef') found.push({ name: record.name as string, key: record.key as string });
    if (parentKey === 'secret' && typeof record.secretName === 'string') {
      const items = (record.items as Array<{ key: string }> | undefined) ?? [];
      if (items.length === 0) found.push({ name: record.secretName });
      for (const item of items) found.push({ name: record.secretName, key: item.key });
    }
    if (['superuserSecret', 'passwordSecret'].includes(parentKey) && typeof record.name === 'string') found.push({ name: record.name });
    if (['accessKeyId', 'secretAccessKey'].includes(parentKey) && typeof record.name === 'string')
      found.push({ name: record.name, key: record.key as string });
    if (parentKey === 'initdb' && typeof (record.secret as { name?: string } | undefined)?.name === 'string')
      found.push({ name: (record.secret as { name: string }).name });
    for (const [key, value] of Object.entries(record)) walk(value, key);
  };
  for (const object of objects) walk(object, '');
  return found;
}
