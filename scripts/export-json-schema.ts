import * as fs from 'node:fs';
import { editorSchema } from '../lib/config/editor-schema';

/*
 * Writes config/schema.json (lib/config/editor-schema.ts), for editors:
 * `# yaml-language-server: $schema=./schema.json`. Usage: export-json-schema <output file>.
 * The file is only rewritten when it changes.
 */
const output = process.argv[2];
if (!output) {
  console.error('usage: export-json-schema <output file>');
  process.exit(2);
}
const text = `${JSON.stringify(editorSchema(), null, 2)}\n`;
if (!fs.existsSync(output) || fs.readFileSync(output, 'utf8') !== text) {
  fs.writeFileSync(`${output}.tmp`, text);
  fs.renameSync(`${output}.tmp`, output);
}
