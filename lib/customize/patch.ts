/*
 * JSON merge patches (RFC 7386) and JSON patches (RFC 6902), on plain JSON values. Neither
 * changes its input: each returns the patched copy.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export const isMapping = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** RFC 7386: mappings merge key by key, null removes a key, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isMapping(patch)) return structuredClone(patch);
  const result: Record<string, unknown> = isMapping(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

export interface JsonPatchOperation {
  readonly op: 'add' | 'remove' | 'replace' | 'test' | 'move' | 'copy';
  readonly path: string;
  readonly value?: unknown;
  readonly from?: string;
}

/** A JSON patch that cannot apply: which operation, and why. */
export class JsonPatchError extends Error {
  constructor(
    readonly index: number,
    readonly reason: string,
  ) {
    super(`operation ${index}: ${reason}`);
    this.name = 'JsonPatchError';
  }
}

/** The reference tokens of a JSON pointer ("/a/b~1c" → ["a", "b/c"]). */
function tokens(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The container of the pointer's last token, and that token. */
function parentOf(document: unknown, pointer: string, index: number): { parent: Json[] | Record<string, Json>; key: string } {
  const path = tokens(pointer);
  const key = path.pop();
  if (key === undefined) throw new JsonPatchError(index, 'the path "" is the whole object; give a path inside it');
  let node: unknown = document;
  for (const [depth, token] of path.entries()) {
    const next = Array.isArray(node) ? node[Number(token)] : isMapping(node) ? node[token] : undefined;
    if (next === undefined || next === null || typeof next !== 'object') {
      throw new JsonPatchError(
        index,
        `${JSON.stringify(`/${path.slice(0, depth + 1).join('/')}`)} does not exist (in ${JSON.stringify(pointer)})`,
      );
    }
    node = next;
  }
  return { parent: node as Json[] | Record<string, Json>, key };
}

function arrayIndex(parent: unknown[], key: string, index: number, adding: boolean): number {
  if (adding && key === '-') return parent.length;
  if (!/^(0|[1-9]\d*)$/.test(key)) throw new JsonPatchError(index, `"${key}" is not an index of the list`);
  const position = Number(key);
  if (position > parent.length || (!adding && position === parent.length)) {
    throw new JsonPatchError(index, `index ${position} is past the end of the list (${parent.length} items)`);
  }
  return position;
}

/** JSON equality: the same keys with equal values, in any order; lists item by item. */
function deepEqual(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, position) => deepEqual(item, b[position]));
  }
  if (isMapping(a) && isMapping(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => key in b && deepEqual(a[key], b[key]));
  }
  return a === b;
}

function get(document: unknown, pointer: string, index: number): unknown {
  let node: unknown = document;
  for (const token of tokens(pointer)) {
    node = Array.isArray(node) ? node[Number(token)] : isMapping(node) ? node[token] : undefined;
    if (node === undefined) throw new JsonPatchError(index, `${JSON.stringify(pointer)} does not exist`);
  }
  return node;
}

function remove(document: unknown, pointer: string, index: number): unknown {
  const { parent, key } = parentOf(document, pointer, index);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, key, index, false), 1)[0];
  if (!(key in parent)) throw new JsonPatchError(index, `${JSON.stringify(pointer)} does not exist`);
  const value = parent[key];
  delete parent[key];
  return value;
}

function add(document: unknown, pointer: string, value: unknown, index: number): void {
  const { parent, key } = parentOf(document, pointer, index);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, index, true), 0, structuredClone(value) as Json);
  else parent[key] = structuredClone(value) as Json;
}

/** RFC 6902, all or nothing: the patched copy, or a JsonPatchError naming the operation. */
export function applyJsonPatch(target: unknown, operations: readonly JsonPatchOperation[]): unknown {
  const document = structuredClone(target);
  operations.forEach((operation, index) => {
    switch (operation.op) {
      case 'add':
        add(document, operation.path, operation.value, index);
        break;
      case 'remove':
        remove(document, operation.path, index);
        break;
      case 'replace':
        remove(document, operation.path, index);
        add(document, operation.path, operation.value, index);
        break;
      case 'move':
      case 'copy': {
        if (operation.from === undefined) throw new JsonPatchError(index, `"${operation.op}" needs from`);
        const value = operation.op === 'move' ? remove(document, operation.from, index) : get(document, operation.from, index);
        add(document, operation.path, value, index);
        break;
      }
      case 'test':
        if (!deepEqual(get(document, operation.path, index), operation.value)) {
          throw new JsonPatchError(index, `test failed: ${JSON.stringify(operation.path)} is not ${JSON.stringify(operation.value)}`);
        }
        break;
    }
  });
  return document;
}
