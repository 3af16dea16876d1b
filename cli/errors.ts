/**
 * Exit codes scripts can rely on. Every failure of the CLI is a CliError carrying one of them;
 * anything else that escapes is a bug and exits 1 with its message.
 */
export const EXIT = {
  /** Done. */
  OK: 0,
  /** The server (or broker) refused the request: a 4xx answer, printed as `CODE: message`. */
  REJECTED: 1,
  /** The command line is wrong: unknown command or flag, missing argument, unreadable or invalid file, missing variable. */
  USAGE: 2,
  /** The API or the broker cannot be reached, timed out, or failed (5xx): trying again later may work. */
  UNREACHABLE: 3,
  /** No such referral (404), or no such topic for redrive. */
  NOT_FOUND: 4,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  override readonly name: string = 'CliError';
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    /** Further lines printed under the message (a validation error's fields, say). */
    readonly details: string[] = [],
  ) {
    super(message);
  }
}

/** Exit 2: the message names the flag, argument, file or variable at fault. */
export class UsageError extends CliError {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    /** The command whose --help to point at (undefined: the global help). */
    readonly command?: string,
  ) {
    super(EXIT.USAGE, message);
  }
}
