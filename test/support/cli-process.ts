import { spawn } from 'node:child_process';
import { repoRoot } from './stack-paths.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `node <argv>` as a child process (asynchronous, so this process's API keeps answering), in the
 * repository by default: its exit code and everything it wrote.
 */
export function runNode(argv: string[], options: { env: NodeJS.ProcessEnv; cwd?: string }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { cwd: options.cwd ?? repoRoot, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The CLI as a user runs it (`cli/referrals.ts` under tsx). */
export const cliEntry = ['--import', 'tsx', `${repoRoot}cli/referrals.ts`];
