/*
 * `make schemas`: regenerates the schema bundle in schemas/.
 *
 *   schemas.ts [--sources DIR] [--check]
 *
 * Sources: DIR (or $SCHEMA_SOURCES) holding k8s-openapi/<version>/ and crds/, else ../shared
 * beside the project when it has both, else the pinned URLs of schemas/provenance.json, downloaded
 * and checked against its checksums. --check compares instead of writing (exit 1 on a difference).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  type BundleSources,
  buildSchemaBundle,
  IMPORTED_CRD_FILES,
  KUBERNETES_DOCUMENTS,
  sourcesFromDownloads,
  verifyDownloads,
} from '../lib/validation/schema-bundle-builder';
import { BUNDLE_FOLDER, KUBERNETES_VERSIONS, PROVENANCE_FILE, type Provenance } from '../lib/validation/schema-bundle';

const root = path.resolve(__dirname, '..');

function readSources(folder: string): BundleSources {
  const read = (local: string) => ({ local, text: fs.readFileSync(path.join(folder, local), 'utf8') });
  return {
    kubernetes: KUBERNETES_VERSIONS.flatMap((label) => KUBERNETES_DOCUMENTS.map((name) => read(`k8s-openapi/${label}/${name}`))),
    crds: IMPORTED_CRD_FILES.map((name) => read(`crds/${name}`)),
  };
}

function hasSources(folder: string): boolean {
  return fs.existsSync(path.join(folder, 'k8s-openapi', KUBERNETES_VERSIONS[0] as string)) && fs.existsSync(path.join(folder, 'crds'));
}

async function download(): Promise<BundleSources> {
  const provenance = JSON.parse(fs.readFileSync(path.join(root, BUNDLE_FOLDER, PROVENANCE_FILE), 'utf8')) as Provenance;
  const downloads = new Map<string, string>();
  for (const url of new Set(provenance.documents.map((document) => document.url))) {
    console.log(`downloading ${url}`);
    const response = await fetch(url).catch((error: unknown) => {
      throw new Error(`${url}: ${error instanceof Error ? error.message : String(error)} (no ../shared here, and the download failed)`);
    });
    if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
    downloads.set(url, await response.text());
  }
  const problems = verifyDownloads(provenance, downloads);
  if (problems.length > 0) throw new Error(`downloads differ from ${BUNDLE_FOLDER}/${PROVENANCE_FILE}:\n${problems.join('\n')}`);
  return sourcesFromDownloads(provenance, downloads);
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const check = args.includes('--check');
  const sourcesIndex = args.indexOf('--sources');
  const given = sourcesIndex >= 0 ? args[sourcesIndex + 1] : process.env.SCHEMA_SOURCES;
  const shared = path.resolve(root, '..', 'shared');
  let sources: BundleSources;
  if (given) {
    if (!hasSources(given)) throw new Error(`${given}: expected k8s-openapi/<version>/ and crds/ in it`);
    sources = readSources(given);
  } else if (hasSources(shared)) {
    sources = readSources(shared);
  } else {
    sources = await download();
  }
  const files = buildSchemaBundle(sources);
  const target = path.join(root, BUNDLE_FOLDER);
  if (check) {
    const differing = [...files].filter(
      ([name, text]) => !fs.existsSync(path.join(target, name)) || fs.readFileSync(path.join(target, name), 'utf8') !== text,
    );
    for (const [name] of differing) console.error(`${BUNDLE_FOLDER}/${name} differs from what \`make schemas\` generates`);
    return differing.length === 0 ? 0 : 1;
  }
  // Written beside, then swapped in: an interrupted run leaves the committed bundle as it was.
  const scratch = `${target}.new`;
  fs.rmSync(scratch, { recursive: true, force: true });
  fs.mkdirSync(scratch, { recursive: true });
  for (const [name, text] of files) fs.writeFileSync(path.join(scratch, name), text);
  const previous = `${target}.old`;
  fs.rmSync(previous, { recursive: true, force: true });
  if (fs.existsSync(target)) fs.renameSync(target, previous);
  fs.renameSync(scratch, target);
  fs.rmSync(previous, { recursive: true, force: true });
  const size = [...files.values()].reduce((total, text) => total + Buffer.byteLength(text), 0);
  console.log(`${BUNDLE_FOLDER}/: ${files.size} files, ${(size / 1024).toFixed(0)} KiB`);
  return 0;
}

main().then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    console.error(`make schemas: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
