/*
 * The JSON Schema of config/<env>.yaml that editors read (`# yaml-language-server:
 * $schema=./schema.json`), from the zod schema: its descriptions, defaults, patterns, ranges and
 * enums, as the file is written (fields with defaults are optional). Draft 2020-12, standard
 * keywords and no formats, so that any validator of that draft takes it as it is.
 */
import { z } from 'zod';
import { configSchema } from './schema';

type JsonSchema = { [keyword: string]: unknown };

const TITLE = 'prefect-cdk8s environment configuration';
const DESCRIPTION =
  'config/<env>.yaml: one environment of a Self-Managed Prefect installation. Generated from lib/config/schema.ts by `make schema`.';

export function editorSchema(): JsonSchema {
  const generated = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  return { ...(rewriteDiscriminatedUnions(generated) as JsonSchema), title: TITLE, description: DESCRIPTION };
}

function isObject(value: unknown): value is JsonSchema {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The values an alternative admits for `key`: its `const` or `enum`, or undefined when it has neither. */
function discriminatorValues(alternative: unknown, key: string): unknown[] | undefined {
  if (!isObject(alternative) || !isObject(alternative.properties)) return undefined;
  const property = alternative.properties[key];
  if (!isObject(property) || !Array.isArray(alternative.required) || !alternative.required.includes(key)) return undefined;
  if ('const' in property) return [property.const];
  return Array.isArray(property.enum) ? property.enum : undefined;
}

/** The key every alternative requires with a `const` or `enum` of its own: a zod discriminated union. */
function discriminatorOf(alternatives: unknown[]): string | undefined {
  const [first] = alternatives;
  if (alternatives.length < 2 || !isObject(first) || !Array.isArray(first.required)) return undefined;
  return (first.required as string[]).find((key) => alternatives.every((alternative) => discriminatorValues(alternative, key)));
}

/**
 * A `oneOf` of objects told apart by one key becomes that key's enum plus an `if`/`then` per
 * alternative: the same instances are valid, but an editor reports a mistyped discriminator as
 * "not one of <values>" rather than the missing fields of whichever alternative it guessed
 * (`tls.mode: self-signed` is not "Missing property email").
 */
function rewriteDiscriminatedUnions(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewriteDiscriminatedUnions);
  if (!isObject(node)) return node;
  const rewritten = Object.fromEntries(Object.entries(node).map(([keyword, value]) => [keyword, rewriteDiscriminatedUnions(value)]));
  const alternatives = rewritten.oneOf;
  if (!Array.isArray(alternatives)) return rewritten;
  const key = discriminatorOf(alternatives);
  if (key === undefined) return rewritten;
  const { oneOf: _, ...rest } = rewritten;
  const values = alternatives.flatMap((alternative) => discriminatorValues(alternative, key) ?? []);
  const description = alternatives
    .map((alternative) => {
      const property = (alternative as { properties: Record<string, JsonSchema> }).properties[key];
      const admitted = (discriminatorValues(alternative, key) ?? []).map((value) => JSON.stringify(value)).join(', ');
      return typeof property?.description === 'string' ? `${admitted}: ${property.description}` : admitted;
    })
    .join(' ');
  return {
    ...rest,
    type: 'object',
    properties: {
      [key]: { ...(values.every((value) => typeof value === 'string') ? { type: 'string' } : {}), enum: values, description },
    },
    required: [key],
    allOf: alternatives.map((alternative) => ({
      if: { properties: { [key]: { enum: discriminatorValues(alternative, key) } } },
      // biome-ignore lint/suspicious/noThenProperty: `then` is the JSON Schema keyword.
      then: alternative,
    })),
  };
}
