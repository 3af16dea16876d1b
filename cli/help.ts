import { actionNames } from './actions.js';

/** The exit codes, as every --help shows them. */
export const exitCodesText = `Exit codes:
  0  done
  1  the server refused the request (4xx; printed as CODE: message, with the field at fault)
  2  usage error: unknown command or flag, missing argument, unreadable or invalid JSON file,
     missing REFERRALS_API_KEY, invalid REFERRALS_API_URL or KAFKA_* variable (each named)
  3  cannot reach the API or the Kafka broker (or it failed with a 5xx): try again later
  4  not found: no such referral (404); for redrive, no such dead-letter topic`;

const apiEnvText = `Environment:
  REFERRALS_API_URL  the engine's HTTP API (default http://127.0.0.1:8080)
  REFERRALS_API_KEY  your API key (required), sent as "Authorization: Bearer <key>"`;

export const commandHelp = {
  submit: `Usage: referrals submit <file.json | ->

Submits a referral: the file holds the data of a referral.detected.v1 event (referralId,
sourceAgency, detectedAt, facts, persons), the same object agencies send over Kafka. "-" reads
it from standard input. The API validates it and starts the referral's workflow; a referral
already started with that id starts nothing new.

Prints:
  started <referralId>     a new referral
  duplicate <referralId>   that referral exists already (still exit 0)

Options:
  -h, --help   this text

Example:
  referrals submit ./FJA-2026-0001.json

${apiEnvText}

${exitCodesText}`,

  list: `Usage: referrals list [filters] [--limit N] [--json]

Lists the referrals your agency is a party to (operators and admins see all) as a
table: id, stage, case type, lead agency, district, priority, SLA breached, next deadline.

Filters (combined with AND):
  --stage S        SCREENING, IN_PROGRESS, CLOSED, ... (the ReferralStage search attribute)
  --case-type T    TRAFFICKING, SMUGGLING, FRAUDULENT_JOB_AD, UNKNOWN
  --lead A         lead agency code (FIA, NCCIA, ...)
  --province P     PUNJAB, SINDH, KHYBER_PAKHTUNKHWA, BALOCHISTAN, ISLAMABAD, GILGIT_BALTISTAN, AZAD_KASHMIR
  --district D     district name as reported (Lahore, Gujrat, ...)
  --priority P     URGENT, HIGH, NORMAL
  --breached       only referrals with a breached SLA clock
  --open           only referrals still open (workflow running)
Options:
  --limit N        at most N referrals (1-1000, default 100)
  --json           print the API's JSON array instead of the table
  -h, --help       this text
Codes are not case-sensitive (--province punjab works).

Examples:
  referrals list --open --lead FIA
  referrals list --breached --province SINDH --json | jq -r '.[].referralId'

${apiEnvText}

${exitCodesText}`,

  show: `Usage: referrals show <referralId> [--json]

Shows one referral: stage, case type, priority, route (lead, supporting, informed, committee),
its justice and protection tracks, every SLA clock (step, responsible agency, status, deadline,
breach, escalation rungs fired, extensions), and the audit timeline of the referral and both
tracks merged in time order. Personal data is never printed here: when your role may read it,
the number of persons is shown and --json includes them.

Options:
  --json       print the API's JSON answer
  -h, --help   this text

${apiEnvText}

${exitCodesText}`,

  act: `Usage: referrals act <referralId> <action> [--data '<json>' | --file f.json] [--idempotency-key K]

Performs an action on a referral as you (the actor is always the API key's identity): the same
updates and checks as the actions topic over Kafka. The body is the action's fields without
referralId and actor, as a JSON object; actions without required fields need no body.

Actions:
${wrap(actionNames.join(', '), 2, 96)}

Options:
  --data JSON            the action's fields, e.g. '{"reason":"seen"}'
  --file F               read them from a JSON file ("-" for standard input)
  --idempotency-key K    send the action at most once: a retry with the same key returns the
                         first outcome instead of acting again
  --json                 print the API's JSON answer
  -h, --help             this text

Prints "accepted <action> <referralId>" and the referral's stage after it.

Examples:
  referrals act FJA-2026-0001 acknowledge --data '{"reason":"seen"}'
  referrals act FJA-2026-0001 extend-deadline --data '{"step":"screening","by":{"hours":12},"reason":"interpreter needed"}'
  referrals act FJA-2026-0001 complete-task --file outcome.json --idempotency-key task-T1-done

${apiEnvText}

${exitCodesText}`,

  export: `Usage: referrals export --format htcds [--from YYYY-MM] [--to YYYY-MM] [--agency A] [--output csv|json] [--file F]

Exports referrals to the Human Trafficking Case Data Standard (HTCDS 2.0, by IOM, CC BY 4.0),
de-identified: one row per referral, its columns HTCDS field names (TraffickingStatus and the
MethodsOfControl... checkboxes read from the reported indicators), no name, contact, place or
date; every combination of values that fewer than k referrals share (EXPORT_MIN_CELL on the
server, default 5) is withheld and counted. Operators and admins only; every export is audited
(who, when, filters, rows, withheld) on the operators' audit topic. README "HTCDS export" has
the mapping, and what the engine does not hold.

Writes the export to standard output (or --file); on standard error a line when it starts, one
every 5 s while the server reads the referrals, and a summary: rows, referrals read, withheld.

Options:
  --format htcds     the standard to export to (required; htcds is the one there is)
  --from YYYY-MM     only referrals detected in this month or later
  --to YYYY-MM       only referrals detected in this month or earlier
  --agency A         only referrals this agency leads (FIA, NCCIA, POLICE, ...)
  --output csv|json  CSV with a header of field names (default), or JSON with the rows and
                     what was withheld
  --file F           write the export to F (mode 600) instead of standard output
  -h, --help         this text

Examples:
  referrals export --format htcds --from 2026-01 --to 2026-06 > htcds-h1.csv
  referrals export --format htcds --agency FIA --output json | jq '.rows | length'

${apiEnvText}

${exitCodesText}`,

  redrive: `Usage: referrals redrive [--from-beginning] [--limit N] [--dry-run] [--reason R]

Re-drives dead letters: reads the dead-letter topic (KAFKA_TOPIC_DEAD_LETTER) with the consumer
group referral-engine-redrive and, for each record, produces its ORIGINAL value with its original
headers (the dlq-* headers removed) and its original key to the topic named in its
dlq-source-topic header, then commits that record. It stops when it has reached the end of the
topic as it was at the start (or after --limit records) and prints a line per 100 records and a
summary.

A value sealed by the engine (header dlq-sealed: <key id>) is unsealed with the engine's payload
keys, so the source topic gets the exact original bytes; one without dlq-sealed goes as it is. A
record sealed with a key id this process does not have stops the run (exit 1) naming the key id;
that record and the ones after it stay uncommitted: add the key and run redrive again.

Re-driven records go through the bridges again from the start: a message that is still invalid
simply comes back to the dead-letter topic (with a new dlq-at), and a referral that was started
meanwhile is recognised as a duplicate. Fix the cause (the consumer, the schema, the policy)
before re-driving.

The group remembers where it stopped: the next run continues after the last committed record
(a first run starts at the oldest dead letter). One redrive runs at a time: a second one is
refused (exit 1) while the group has a running member.

Options:
  --from-beginning  forget where the group stopped and go over the whole topic again
  --limit N         re-drive at most N records, then stop (the rest stays for the next run)
  --reason R        only records whose dlq-reason is R (INVALID_CLOUDEVENT, INVALID_EVENT,
                    UNKNOWN_EVENT_TYPE, ...); the others are passed over and the group moves
                    past them (use --from-beginning later to reach them again)
  --dry-run         list what would be re-driven (topic, key, reason, fields at fault, sealing
                    key id) without unsealing and change nothing: no record produced, no
                    offset committed
  -h, --help        this text

Examples:
  referrals redrive --dry-run
  referrals redrive --reason UNKNOWN_EVENT_TYPE --limit 500

Environment (as for the engine, see README "Configuration"):
  KAFKA_BROKERS, KAFKA_CLIENT_ID, KAFKA_TOPIC_DEAD_LETTER; PAYLOAD_KEYS or PAYLOAD_KEYS_FILE
  (read at the first sealed record); LOG_LEVEL for the Kafka client's log (silent unless set).
  No API key is needed.

${exitCodesText}`,
} as const;

export type CommandName = keyof typeof commandHelp;
export const commandNames = Object.keys(commandHelp) as CommandName[];

export const globalHelp = `Usage: referrals <command> [options]     (npx referrals, or npm run -s referrals -- ...)

Referrals of trafficking, smuggling and fraudulent-job-advertisement cases, from the command line.

Commands:
  submit <file.json>            submit a referral (referral.detected.v1 data)
  list [filters] [--json]       list and filter referrals
  show <referralId> [--json]    state, SLA clocks and merged timeline of one referral
  act <referralId> <action>     act on a referral (acknowledge, extend-deadline, complete-task, ...)
  export --format htcds         de-identified HTCDS 2.0 export (operators and admins)
  redrive [--dry-run]           re-drive dead letters to the topics they came from (Kafka)

"referrals <command> --help" describes a command, its options and examples.

${apiEnvText}
  (redrive uses KAFKA_BROKERS and KAFKA_TOPIC_DEAD_LETTER instead)

${exitCodesText}`;

function wrap(text: string, indent: number, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && indent + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((l) => ' '.repeat(indent) + l).join('\n');
}
