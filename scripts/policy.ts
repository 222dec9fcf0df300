/*
 * The policy suite and the secrets scan over the committed output.
 *
 *   npx tsx scripts/policy.ts [--list-exempted] [env...]
 *
 * Checks every object of dist/<env>/ (all environments when none is named) with the kube-linter,
 * Polaris, Pod Security Standards and schema-gap checks of lib/policy/, then scans dist/ and
 * config/ for secrets. Prints the table of checks and every failure; exit status 1 when anything
 * fails (an unexempted violation, an exemption problem, a secret), 2 on bad usage.
 */
import * as path from 'node:path';
import { listDistEnvironments, loadDistEnvironment } from '../lib/policy/load';
import { formatReport, runPolicy } from '../lib/policy/run';
import { formatSecretFindings, scanFolders } from '../lib/policy/secrets-scan';

function main(argv: readonly string[]): number {
  const root = path.resolve(__dirname, '..');
  const dist = path.join(root, 'dist');
  const available = listDistEnvironments(dist);
  const listExempted = argv.includes('--list-exempted');
  const named = argv.filter((argument) => argument !== '--list-exempted');
  const unknown = named.filter((environment) => !available.includes(environment));
  if (unknown.length > 0 || named.some((argument) => argument.startsWith('-'))) {
    console.error(
      `usage: npx tsx scripts/policy.ts [--list-exempted] [env...]; environments in dist/: ${available.join(', ') || 'none (run make synth)'}`,
    );
    return 2;
  }
  const environments = named.length > 0 ? named : available;
  const started = performance.now();
  const report = runPolicy(
    environments.map((environment) => loadDistEnvironment(dist, environment)),
    // An exemption may serve only an environment that was left out of this run.
    { reportStaleExemptions: environments.length === available.length },
  );
  console.log(formatReport(report, { listExempted }));
  const secrets = scanFolders(root, ['dist', 'config']);
  console.log('');
  console.log(formatSecretFindings(secrets));
  console.log(`(${Math.round(performance.now() - started)} ms)`);
  return report.ok && secrets.length === 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
