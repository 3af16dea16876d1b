import { readFileSync } from 'node:fs';
import { act, list, show, submit } from './commands.js';
import { CliError, EXIT, UsageError, type ExitCode } from './errors.js';
import { commandNames, globalHelp, type CommandName } from './help.js';
import type { Io } from './io.js';
import { exportCommand } from './export.js';
import { redrive } from './redrive.js';

const commands: Record<CommandName, (args: string[], io: Io) => Promise<ExitCode>> = { submit, list, show, act, export: exportCommand, redrive };

const isCommand = (name: string): name is CommandName => (commandNames as string[]).includes(name);

/** Runs one command line and returns its exit code; every failure is reported on stderr. */
export async function run(argv: string[], io: Io): Promise<ExitCode> {
  const [first, ...rest] = argv;
  if (first === '--help' || first === '-h') {
    io.out(globalHelp);
    return EXIT.OK;
  }
  if (first === 'help') {
    const topic = rest[0];
    if (topic !== undefined && isCommand(topic)) return commands[topic](['--help'], io);
    io.out(globalHelp);
    return topic === undefined ? EXIT.OK : usage(io, `unknown command "${topic}"`);
  }
  if (first === undefined) {
    io.err(globalHelp);
    return EXIT.USAGE;
  }
  if (!isCommand(first)) return usage(io, first.startsWith('-') ? `unknown option ${first} (options come after the command)` : `unknown command "${first}"`);
  try {
    return await commands[first](rest, io);
  } catch (err) {
    return report(io, first, err);
  }
}

function usage(io: Io, problem: string): ExitCode {
  io.err(`referrals: ${problem}; commands: ${commandNames.join(', ')} (referrals --help)`);
  return EXIT.USAGE;
}

function report(io: Io, command: CommandName, err: unknown): ExitCode {
  if (err instanceof CliError) {
    io.err(`referrals ${command}: ${err.message}`);
    for (const line of err.details) io.err(line);
    if (err instanceof UsageError) io.err(`(referrals ${err.command ?? command} --help shows the usage)`);
    return err.exitCode;
  }
  io.err(`referrals ${command}: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  return EXIT.REJECTED;
}

/** The real process: stdout, stderr, the environment, standard input. */
export const processIo: Io = {
  out: (text) => void process.stdout.write(`${text}\n`),
  err: (text) => void process.stderr.write(`${text}\n`),
  env: process.env,
  readStdin: () => readFileSync(0, 'utf8'),
};
