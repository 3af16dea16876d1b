/** Where a command writes and what it reads: the process's streams and environment, or a test's. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  /** Standard input as text (`submit -`, `act --file -`). */
  readStdin(): string;
}
