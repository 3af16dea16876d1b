import type { ReferralDetail, ReferralSummary } from '../api/referral-service.js';
import { Priority, Province, ReferralId, ReportedCaseType } from '../schemas/common.js';
import { actionNames } from './actions.js';
import { apiSettings, callApi } from './api.js';
import { isPlainObject, oneOf, parseCommand, parseJson, positionals, readJsonFile, wholeNumber } from './args.js';
import { EXIT, UsageError, type ExitCode } from './errors.js';
import { referralTable, renderReferral } from './format.js';
import { commandHelp } from './help.js';
import type { Io } from './io.js';

const json = (value: unknown) => JSON.stringify(value, null, 2);

function referralIdArg(command: string, value: string): string {
  const parsed = ReferralId.safeParse(value);
  if (!parsed.success) throw new UsageError(`<referralId> "${value}": ${parsed.error.issues[0]?.message ?? 'not a referral id'} (6-64 characters)`, command);
  return parsed.data;
}

// --- submit ---

export function parseSubmitArgs(args: string[]): { file: string } | 'help' {
  const { values, positionals: given } = parseCommand('submit', args, {});
  if (values.help) return 'help';
  const [file] = positionals('submit', given, ['file.json']);
  return { file: file! };
}

export async function submit(args: string[], io: Io): Promise<ExitCode> {
  const parsed = parseSubmitArgs(args);
  if (parsed === 'help') return help(io, 'submit');
  const referral = readJsonFile('submit', parsed.file, io.readStdin);
  if (!isPlainObject(referral)) throw new UsageError(`${parsed.file}: expected a JSON object (the data of referral.detected.v1), not ${Array.isArray(referral) ? 'an array' : typeof referral}`, 'submit');
  const settings = apiSettings(io.env);
  const { body } = await callApi<{ referralId: string; outcome: 'started' | 'duplicate' }>(settings, 'POST', '/referrals', { body: referral });
  io.out(`${body.outcome} ${body.referralId}`);
  return EXIT.OK;
}

// --- list ---

export interface ListArgs {
  query: Record<string, string | undefined>;
  json: boolean;
}

export function parseListArgs(args: string[]): ListArgs | 'help' {
  const { values, positionals: given } = parseCommand('list', args, {
    stage: { type: 'string' },
    'case-type': { type: 'string' },
    lead: { type: 'string' },
    province: { type: 'string' },
    district: { type: 'string' },
    priority: { type: 'string' },
    breached: { type: 'boolean' },
    open: { type: 'boolean' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) return 'help';
  positionals('list', given, []);
  const code = (flag: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    const upper = value.trim().toUpperCase();
    if (!/^[A-Z][A-Z0-9_:-]*$/.test(upper)) throw new UsageError(`${flag}: expected a code such as SCREENING or FIA, got "${value}"`, 'list');
    return upper;
  };
  const district = values.district?.trim();
  if (values.district !== undefined && !district) throw new UsageError('--district: a district name is required', 'list');
  const limit = wholeNumber('list', '--limit', values.limit, 1, 1000);
  return {
    query: {
      stage: code('--stage', values.stage),
      caseType: oneOf('list', '--case-type', values['case-type'], ReportedCaseType.options),
      leadAgency: code('--lead', values.lead),
      province: oneOf('list', '--province', values.province, Province.options),
      district,
      priority: oneOf('list', '--priority', values.priority, Priority.options),
      breached: values.breached ? 'true' : undefined,
      open: values.open ? 'true' : undefined,
      limit: limit?.toString(),
    },
    json: values.json ?? false,
  };
}

export async function list(args: string[], io: Io): Promise<ExitCode> {
  const parsed = parseListArgs(args);
  if (parsed === 'help') return help(io, 'list');
  const settings = apiSettings(io.env);
  const { body } = await callApi<{ referrals: ReferralSummary[] }>(settings, 'GET', '/referrals', { query: parsed.query });
  io.out(parsed.json ? json(body.referrals) : referralTable(body.referrals));
  return EXIT.OK;
}

// --- show ---

export function parseShowArgs(args: string[]): { referralId: string; json: boolean } | 'help' {
  const { values, positionals: given } = parseCommand('show', args, { json: { type: 'boolean' } });
  if (values.help) return 'help';
  const [referralId] = positionals('show', given, ['referralId']);
  return { referralId: referralIdArg('show', referralId!), json: values.json ?? false };
}

export async function show(args: string[], io: Io): Promise<ExitCode> {
  const parsed = parseShowArgs(args);
  if (parsed === 'help') return help(io, 'show');
  const settings = apiSettings(io.env);
  const { body } = await callApi<ReferralDetail>(settings, 'GET', `/referrals/${encodeURIComponent(parsed.referralId)}`);
  io.out(parsed.json ? json(body) : renderReferral(body));
  return EXIT.OK;
}

// --- act ---

export interface ActArgs {
  referralId: string;
  action: string;
  body: Record<string, unknown>;
  idempotencyKey?: string;
  json: boolean;
}

export function parseActArgs(args: string[], readStdin?: () => string): ActArgs | 'help' {
  const { values, positionals: given } = parseCommand('act', args, {
    data: { type: 'string' },
    file: { type: 'string' },
    'idempotency-key': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) return 'help';
  const [referralId, action] = positionals('act', given, ['referralId', 'action']);
  if (!actionNames.includes(action!)) throw new UsageError(`unknown action "${action}"; actions: ${actionNames.join(', ')}`, 'act');
  if (values.data !== undefined && values.file !== undefined) throw new UsageError('--data and --file: give the action\'s fields one way, not both', 'act');
  const source = values.data !== undefined ? '--data' : values.file !== undefined ? values.file : undefined;
  const body = values.data !== undefined ? parseJson('act', '--data', values.data) : values.file !== undefined ? readJsonFile('act', values.file, readStdin) : {};
  if (!isPlainObject(body)) throw new UsageError(`${source}: expected a JSON object with the action's fields, e.g. '{"reason":"seen"}'`, 'act');
  const key = values['idempotency-key'];
  if (key !== undefined && !/^[\x21-\x7e]{1,200}$/.test(key)) throw new UsageError('--idempotency-key: 1-200 printable characters without spaces', 'act');
  return { referralId: referralIdArg('act', referralId!), action: action!, body, ...(key !== undefined ? { idempotencyKey: key } : {}), json: values.json ?? false };
}

export async function act(args: string[], io: Io): Promise<ExitCode> {
  const parsed = parseActArgs(args, io.readStdin);
  if (parsed === 'help') return help(io, 'act');
  const settings = apiSettings(io.env);
  const { body } = await callApi<{ referralId: string; action: string; outcome: string; result?: unknown }>(
    settings,
    'POST',
    `/referrals/${encodeURIComponent(parsed.referralId)}/actions/${parsed.action}`,
    { body: parsed.body, ...(parsed.idempotencyKey ? { headers: { 'idempotency-key': parsed.idempotencyKey } } : {}) },
  );
  if (parsed.json) {
    io.out(json(body));
    return EXIT.OK;
  }
  const stage = isPlainObject(body.result) && typeof body.result['stage'] === 'string' ? body.result['stage'] : undefined;
  io.out(`${body.outcome} ${body.action} ${body.referralId}${stage ? `: stage ${stage}` : ''}`);
  return EXIT.OK;
}

function help(io: Io, command: keyof typeof commandHelp): ExitCode {
  io.out(commandHelp[command]);
  return EXIT.OK;
}
