/*
 * The JSON Schema form of rules that a zod `superRefine` checks between fields of one object
 * ("certificate only with mode l7 and provider aws"), attached with `.meta({ allOf: [...] })` so
 * that the editor's schema (editor-schema.ts) refuses what the loader refuses. The loader's
 * messages stay the zod rules'; test/config/editor-schema.test.ts runs broken files through both.
 */

export type JsonSchema = { readonly [keyword: string]: unknown };

/**
 * The objects whose fields have one of the given values: `{ mode: [['l7'], 'l4'] }` is "mode is
 * l7", where 'l4' is mode's default (an absent field has its default, so it matches only when the
 * default is among the values).
 */
export function whenFields(fields: Readonly<Record<string, readonly [readonly unknown[], unknown]>>): JsonSchema {
  const entries = Object.entries(fields);
  const required = entries.filter(([, [values, fallback]]) => !values.includes(fallback)).map(([field]) => field);
  return {
    type: 'object',
    properties: Object.fromEntries(entries.map(([field, [values]]) => [field, { enum: values }])),
    ...(required.length > 0 ? { required } : {}),
  };
}

/** `then` applies to the objects `when` matches. */
export function rule(when: JsonSchema, then: JsonSchema): JsonSchema {
  return { if: when, then };
}

/** None of `fields` may be present. */
export function forbid(...fields: readonly string[]): JsonSchema {
  return { type: 'object', properties: Object.fromEntries(fields.map((field) => [field, false])) };
}

/** Each of `fields` must be present. */
export function need(...fields: readonly string[]): JsonSchema {
  return { type: 'object', required: fields, properties: Object.fromEntries(fields.map((field) => [field, true])) };
}

/** `schema` for the value at `path` (an object's field, the field's field …), when it is there. */
export function at(path: readonly string[], schema: JsonSchema): JsonSchema {
  return path.reduceRight<JsonSchema>((inner, field) => ({ type: 'object', properties: { [field]: inner } }), schema);
}

/** The objects that have a value at `path`, and it matches `schema`. */
export function given(path: readonly string[], schema: JsonSchema): JsonSchema {
  return path.reduceRight<JsonSchema>((inner, field) => ({ type: 'object', required: [field], properties: { [field]: inner } }), schema);
}

/** A regular expression source that matches `word` in any case, for JSON Schema's patterns, which take no flags. */
export function anyCase(word: string): string {
  return [...word]
    .map((character) => (/[a-z]/i.test(character) ? `[${character.toUpperCase()}${character.toLowerCase()}]` : character))
    .join('');
}
