/**
 * `referrals`: the command-line client of referral-engine (submit, list, show, act, redrive).
 * Run with `npx referrals ...` (cli/bin.mjs), `npm run -s referrals -- ...` or
 * `node --import tsx cli/referrals.ts ...`. Exit codes: see cli/errors.ts and `referrals --help`.
 */
import { processIo, run } from './run.js';

const code = await run(process.argv.slice(2), processIo);
// Exit once the output is flushed, without waiting for idle keep-alive sockets.
process.exitCode = code;
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
