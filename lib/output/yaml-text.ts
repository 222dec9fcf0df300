import * as yaml from 'js-yaml';

/** Serializes one object as a YAML document, the same way every time. */
export function toYaml(object: unknown): string {
  return yaml.dump(object, { lineWidth: -1, noRefs: true });
}

export interface YamlReadingProblem {
  readonly path: string;
  readonly message: string;
}

/**
 * Checks that `text` reads back as `expected` under YAML 1.2 (js-yaml) and under YAML 1.1, which
 * is what kubectl, kustomize and the API server read: `yes`, `on`, `0755` and `1:30` mean other
 * things there, and a value must not change meaning on its way to the cluster.
 */
export function checkYamlReading(text: string, expected: unknown): YamlReadingProblem[] {
  const problems: YamlReadingProblem[] = [];
  const asYaml12 = yaml.load(text);
  const asYaml11 = yaml.load(text, { schema: yaml.YAML11_SCHEMA });
  const differences12 = differences(expected, asYaml12, '');
  for (const difference of differences12) {
    problems.push({
      path: difference.path,
      message: `reads back as ${show(difference.actual)} instead of ${show(difference.expected)} (YAML 1.2)`,
    });
  }
  for (const difference of differences(expected, asYaml11, '')) {
    problems.push({
      path: difference.path,
      message: `means ${show(difference.actual)} to YAML 1.1 readers such as kubectl, not ${show(difference.expected)}`,
    });
  }
  return problems;
}

interface Difference {
  readonly path: string;
  readonly expected: unknown;
  readonly actual: unknown;
}

function differences(expected: unknown, actual: unknown, path: string): Difference[] {
  if (Array.isArray(expected) && Array.isArray(actual)) {
    if (expected.length !== actual.length) return [{ path, expected, actual }];
    return expected.flatMap((item, index) => differences(item, actual[index], `${path}[${index}]`));
  }
  if (isMapping(expected) && isMapping(actual)) {
    const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
    return [...keys].flatMap((key) => differences(expected[key], actual[key], path ? `${path}.${key}` : key));
  }
  return Object.is(expected, actual) || (expected instanceof Date && actual instanceof Date && expected.getTime() === actual.getTime())
    ? []
    : [{ path: path || '(document)', expected, actual }];
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date);
}

function show(value: unknown): string {
  if (value instanceof Date) return `the timestamp ${value.toISOString()}`;
  if (value === undefined) return 'nothing';
  return `${typeof value} ${JSON.stringify(value)}`;
}
