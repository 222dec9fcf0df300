/**
 * A Secret the installation reads and the user creates (its value never goes into Git), as the
 * per-environment README tells: where, what for, and the command.
 */
export interface RequiredSecret {
  readonly namespace: string;
  readonly name: string;
  /** What reads it, for the comment above the command. */
  readonly purpose: string;
  /** The `kubectl … create secret …` line, with placeholders for the values. */
  readonly command: string;
}
