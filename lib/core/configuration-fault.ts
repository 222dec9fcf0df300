/*
 * A problem that the configuration causes past its schema, where a builder sizes or wires
 * something (PostgreSQL's tuning for the memory it is given): it names the field to change and
 * what is expected, and synthesis reports it as a configuration error (exit 2), like the
 * schema's own problems.
 */
export class ConfigurationFault extends Error {
  constructor(
    /** The field of config/<env>.yaml to change, as a dotted path. */
    readonly field: string,
    /** What is expected there, and why: "expected at least 2760Mi: …". */
    readonly expectation: string,
  ) {
    super(`${field}: ${expectation}`);
    this.name = 'ConfigurationFault';
  }
}
