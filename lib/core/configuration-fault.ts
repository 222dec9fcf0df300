/*
 * Problems that the configuration causes past its schema, where a builder sizes or wires
 * something (PostgreSQL's tuning for the memory it is given, a patch whose object does not
 * exist): each names the field to change and what is expected, and synthesis reports them as a
 * configuration error (exit 2), like the schema's own problems.
 */
export interface FieldProblem {
  /** The field of config/<env>.yaml to change, as a dotted path. */
  readonly field: string;
  /** What is expected there, and why: "expected at least 2760Mi: …". */
  readonly expectation: string;
}

export class ConfigurationFault extends Error {
  readonly problems: readonly FieldProblem[];

  constructor(field: string, expectation: string);
  constructor(problems: readonly FieldProblem[]);
  constructor(fieldOrProblems: string | readonly FieldProblem[], expectation = '') {
    const problems = typeof fieldOrProblems === 'string' ? [{ field: fieldOrProblems, expectation }] : fieldOrProblems;
    super(problems.map((problem) => `${problem.field}: ${problem.expectation}`).join('\n'));
    this.problems = problems;
    this.name = 'ConfigurationFault';
  }
}
