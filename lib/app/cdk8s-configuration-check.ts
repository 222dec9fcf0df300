/*
 * A validation plugin of the cdk8s CLI (cdk8s.yaml, `validations`) that turns a configuration
 * error into the CLI's own status for a failed validation, 2, as `node build/main.js` gives it;
 * any other failure of the app leaves the CLI's "synthesis failed", status 1.
 *
 * Under the CLI, an app that fails on its configuration writes the problems into its output
 * folder as CONFIGURATION_PROBLEMS_FILE (and no manifest): the CLI hands that file to this
 * plugin with the manifests, and the plugin fails the validation with one violation per
 * problem. The app writes it only when the CLI runs validations (it asks the app to record
 * construct metadata then): with `--no-validate` it leaves no folder, and the CLI says
 * "synthesis failed".
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The file, among the CLI's manifests, that lists a configuration's problems. */
export const CONFIGURATION_PROBLEMS_FILE = 'configuration-problems.k8s.yaml';

/** The part of the CLI's ValidationContext this plugin uses (the CLI passes its own object). */
interface ValidationContext {
  readonly manifests: readonly string[];
  readonly report: {
    addViolation(violation: {
      ruleName: string;
      recommendation: string;
      fix: string;
      violatingResources: readonly { resourceName: string; locations: readonly string[]; manifestPath: string }[];
    }): void;
    submit(status: 'success' | 'failure', metadata?: Record<string, string>): void;
  };
}

/** The file's text: a YAML comment, then the problems as a list. */
export function configurationProblemsText(problems: readonly string[]): string {
  return `# prefect-cdk8s: the configuration is invalid; dist/ was not changed.\nproblems:\n${problems.map((problem) => `  - ${JSON.stringify(problem)}`).join('\n')}\n`;
}

function problemsIn(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('  - '))
    .map((line) => JSON.parse(line.slice(4)) as string);
}

export class ConfigurationCheck {
  async validate(context: ValidationContext): Promise<void> {
    const file = context.manifests.find((manifest) => path.basename(manifest) === CONFIGURATION_PROBLEMS_FILE);
    if (file === undefined) {
      context.report.submit('success');
      return;
    }
    for (const problem of problemsIn(fs.readFileSync(file, 'utf8'))) {
      context.report.addViolation({
        ruleName: 'configuration',
        recommendation: problem,
        fix: 'Correct that field of the configuration file (README, "The configuration"); dist/ was not changed.',
        violatingResources: [],
      });
    }
    context.report.submit('failure', { problems: 'invalid configuration' });
  }
}
