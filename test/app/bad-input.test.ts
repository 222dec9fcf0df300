/*
 * Bad input through the real entry point, `node build/main.js` as `make synth` runs it, in a copy
 * of the project: every broken configuration of the corpus (test/bad-configurations.ts) and
 * every broken file below exits with status 2, prints one line per problem that names the file
 * and the field and says what is expected, prints no stack trace and no secret, and leaves
 * dist/ byte-identical.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROKEN } from '../bad-configurations';
import { variantText } from '../config-variants';
import { copyProject, removeProjectCopy, run, treeHash } from '../helpers';

/** A value that must never be printed, put where the corpus puts secrets. */
const PLANTED = 'planted-7f3c9a1e5b2d4f6a8c0e';

/** [what is wrong, the environment, the file's new bytes (from its committed text), what the message must say]. */
const BROKEN_FILES: readonly [string, string, (text: string) => string | Buffer, RegExp][] = [
  ['an unclosed flow sequence', 'prod', (text) => text.replace(/sourceRanges:\n\s+- 0\.0\.0\.0\/0/, 'sourceRanges: [0.0.0.0/0'), /\[/],
  ['a tab in the indentation', 'prod', (text) => text.replace('  mode: letsencrypt', '\tmode: letsencrypt'), /tab/i],
  ['an empty file', 'dev', () => '', /expected a mapping/],
  ['a list instead of a mapping', 'dev', () => '- environment: dev\n', /expected a mapping/],
  ['a key given twice', 'dev', (text) => `${text}\ndomain: other.example.com\n`, /duplicate|twice/i],
  ['a file in UTF-16', 'dev', (text) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]), /UTF-16/],
  ['a NUL byte', 'dev', (text) => `${text}\u0000`, /expected|control|NUL|null/i],
  ['a mapping where TLS takes one', 'prod', (text) => text.replace(/tls:\n(?: {2}.*\n)+/, 'tls: letsencrypt\n'), /tls: expected a mapping/],
  [
    'a value of 20 MB',
    'dev',
    (text) => text.replace('domain: prefect.dev.example.com', `domain: ${'a'.repeat(20 * 2 ** 20)}`),
    /domain: expected/,
  ],
  [
    'a secret where a Secret name goes',
    'prod',
    (text) =>
      text.replace(
        /solver:\n(?: {4}.*\n)+/,
        `solver:\n    type: dns01\n    provider:\n      name: route53\n      region: us-east-1\n      accessKeySecret: { name: "${PLANTED}/x", key: k }\n`,
      ),
    /accessKeySecret\.name: expected/,
  ],
  [
    'a literal password in a service’s env',
    'prod',
    (text) => `${text}\n`.replace('prefect:\n', `prefect:\n  services:\n    server:\n      env:\n        SMTP_PASSWORD: ${PLANTED}\n`),
    /SMTP_PASSWORD: expected a Secret key/,
  ],
  [
    'an unknown key deep down',
    'prod',
    (text) => text.replace('    maxReplicas: 6', '    maxReplicas: 6\n    maxReplica: 7'),
    /did you mean "maxReplicas"/,
  ],
];

describe('bad input through node build/main.js', () => {
  let project: string;
  let dist: string;
  let before: string;
  const originals = new Map<string, Buffer>();

  beforeAll(() => {
    project = copyProject();
    dist = path.join(project, 'dist');
    const built = run('make', ['--silent', 'build/main.js'], project);
    expect(built.stderr).toBe('');
    const first = run('node', ['build/main.js'], project);
    expect(first.status, first.stderr).toBe(0);
    before = treeHash(dist);
    for (const file of fs.readdirSync(path.join(project, 'config')))
      originals.set(file, fs.readFileSync(path.join(project, 'config', file)));
  });
  afterAll(() => removeProjectCopy(project));

  /** Writes config/<environment>.yaml, synthesizes that environment, puts the file back. */
  const synthesizeWith = (environment: string, content: string | Buffer) => {
    const file = path.join(project, 'config', `${environment}.yaml`);
    fs.writeFileSync(file, content);
    try {
      return run('node', ['build/main.js', '--env', environment], project);
    } finally {
      fs.writeFileSync(file, originals.get(`${environment}.yaml`) as Buffer);
    }
  };

  const expectRefused = (result: ReturnType<typeof run>, environment: string) => {
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr, 'a stack trace').not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
    expect(result.stderr).not.toContain(PLANTED);
    const problems = result.stderr.split('\n').filter((line) => line.startsWith(`config/${environment}.yaml`));
    expect(problems.length, result.stderr).toBeGreaterThan(0);
    for (const line of problems) expect(line.length, 'a problem line of reasonable length').toBeLessThan(1000);
    expect(treeHash(dist), 'dist/ changed').toBe(before);
    return problems;
  };

  it.each(BROKEN)('refuses %s (config/%s.yaml) with status 2, naming the field and what is expected', (_what, environment, changes) => {
    const problems = expectRefused(synthesizeWith(environment, variantText(environment, changes)), environment);
    for (const line of problems) {
      expect(line).toMatch(new RegExp(`^config/${environment}\\.yaml: [^\\s:]+: (.*\\bexpected\\b|unknown key; did you mean)`));
    }
  });

  it.each(BROKEN_FILES)('refuses %s (config/%s.yaml) with status 2, saying what is wrong', (_what, environment, content, message) => {
    const text = (originals.get(`${environment}.yaml`) as Buffer).toString('utf8');
    const changed = content(text);
    expect(changed, 'the case changes the file').not.toEqual(text);
    const problems = expectRefused(synthesizeWith(environment, changed), environment);
    expect(problems.join('\n')).toMatch(message);
  });

  it('counts at least 100 bad inputs', () => {
    expect(BROKEN.length + BROKEN_FILES.length).toBeGreaterThanOrEqual(100);
  });
});
