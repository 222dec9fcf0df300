import * as fs from 'node:fs';
import { z } from 'zod';
import { configSchema } from '../lib/config/schema';

/*
 * Writes the JSON Schema of config/<env>.yaml (from the zod schema, as the files are written:
 * fields with defaults are optional), for editors: `# yaml-language-server: $schema=./schema.json`.
 * Usage: export-json-schema <output file>. The file is only rewritten when it changes.
 */
const output = process.argv[2];
if (!output) {
  console.error('usage: export-json-schema <output file>');
  process.exit(2);
}
const schema = {
  ...z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }),
  title: 'prefect-cdk8s environment configuration',
  description:
    'config/<env>.yaml: one environment of a Self-Managed Prefect installation. Generated from lib/config/schema.ts by `make schema`.',
};
const text = `${JSON.stringify(schema, null, 2)}\n`;
if (!fs.existsSync(output) || fs.readFileSync(output, 'utf8') !== text) {
  fs.writeFileSync(`${output}.tmp`, text);
  fs.renameSync(`${output}.tmp`, output);
}
