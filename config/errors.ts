import type { ZodError } from 'zod';

/** Renders every zod issue as `path: message`, so an error names each field at fault. */
export function describeIssues(error: ZodError, prefix = ''): string[] {
  return error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter((p) => p !== '').join('.');
    return `${path || '(root)'}: ${issue.message}`;
  });
}

/** A configuration problem found at start-up: the process must not start. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG_INVALID';
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source} is invalid:\n  - ${problems.join('\n  - ')}`);
  }
}
