import { WorkflowNotFoundError, defaultPayloadConverter, type Client } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow/index.js';
import type { ExportCase } from '../exports/htcds.js';
import { startReferral, type StartDeps } from '../bridge/intake.js';
import type { Person, ReferralDetectedV1 } from '../schemas/intake.js';
import {
  justiceStateQuery,
  justiceWorkflowId,
  protectionStateQuery,
  protectionWorkflowId,
  referralPersonsQuery,
  referralStateQuery,
} from '../workflows/messages.js';
import { isParty, partyEntryOf, withJurisdiction, type PartyCandidate } from '../domain/jurisdiction.js';
import { PartnerTasksOpenKey } from '../workflows/search-attributes.js';
import type { JusticeState, PartnerTask, ProtectionState, ReferralState, ReferralWorkflowInput } from '../workflows/types.js';
import type { Principal } from './auth.js';

export interface ReferralSummary {
  referralId: string;
  status: string;
  stage?: string;
  caseType?: string;
  leadAgency?: string;
  province?: string;
  district?: string;
  priority?: string;
  slaBreached?: boolean;
  nextDeadline?: string;
  startedAt: string;
}

export interface ReferralFilter {
  stage?: string;
  caseType?: string;
  leadAgency?: string;
  province?: string;
  district?: string;
  priority?: string;
  breached?: boolean;
  open?: boolean;
  limit: number;
}

/** What the HTCDS export lists: every referral, or those one agency leads, detected at or after `detectedFrom`. */
export interface ExportListFilter {
  leadAgency?: string;
  /** An instant (ISO): referrals started before it cannot have been detected after it, so visibility skips them. */
  detectedFrom?: string;
}

/** A referral as the export reads it: the case's facts and state, never its persons. */
export interface ExportCaseRead extends ExportCase {
  detectedAt: string;
}

export interface ExportRead {
  cases: ExportCaseRead[];
  /** Referrals whose state or start input could not be read (a worker down, say): left out, counted. */
  unreadable: number;
}

export interface PartnerTaskView extends PartnerTask {
  referralId: string;
  stage: string;
}

export interface ReferralDetail {
  referral: ReferralState;
  justice?: JusticeState;
  protection?: ProtectionState;
  persons?: Person[];
  temporalUiUrl: string;
}

/** The API's view of Temporal: start, list (visibility), read (queries) — one place, no HTTP in it. */
export class ReferralService {
  constructor(
    private readonly client: Client,
    private readonly startDeps: StartDeps,
    private readonly ui: { url: string; namespace: string },
  ) {}

  submit(referral: ReferralDetectedV1, principal: Principal): Promise<'started' | 'duplicate'> {
    return startReferral(this.startDeps, referral, { eventId: `api/${referral.referralId}`, source: `urn:api:${principal.agency}:${principal.id}` });
  }

  async list(filter: ReferralFilter, principal: Principal, seesAll: boolean): Promise<ReferralSummary[]> {
    const clauses = [`WorkflowType = 'referralWorkflow'`];
    const eq = (attr: string, value: string | undefined) => value !== undefined && clauses.push(`${attr} = ${quote(value)}`);
    eq('ReferralStage', filter.stage);
    eq('CaseType', filter.caseType);
    eq('LeadAgency', filter.leadAgency);
    eq('Province', filter.province);
    eq('District', filter.district);
    eq('Priority', filter.priority);
    if (filter.breached !== undefined) clauses.push(`SlaBreached = ${filter.breached}`);
    if (filter.open !== undefined) clauses.push(filter.open ? `ExecutionStatus = 'Running'` : `ExecutionStatus != 'Running'`);
    // An agency sees only referrals it is a party to; a committee only those of its jurisdiction.
    if (!seesAll) {
      const clause = partiesClause(principal);
      if (!clause) return [];
      clauses.push(clause);
    }
    // Raw visibility rows: the summary needs only search attributes (stored unencrypted), so a
    // row whose memo this process cannot decode does not break the whole list.
    const out: ReferralSummary[] = [];
    for await (const raw of this.visibilityRows(clauses.join(' AND '), Math.min(filter.limit, 1000))) {
      const sa = (name: string) => searchAttribute(raw.searchAttributes?.indexedFields?.[name]);
      // Referrals started before committees were qualified list them bare: decided by the same rule.
      if (!seesAll && !isParty(principal, withJurisdiction(keywordList(raw.searchAttributes?.indexedFields?.['Parties']), locationOf(sa)))) continue;
      const deadline = sa('NextDeadline');
      const breached = sa('SlaBreached');
      out.push({
        referralId: (raw.execution?.workflowId ?? '').replace(/^referral-/, ''),
        status: statusName(raw.status),
        stage: asString(sa('ReferralStage')),
        caseType: asString(sa('CaseType')),
        leadAgency: asString(sa('LeadAgency')),
        province: asString(sa('Province')),
        district: asString(sa('District')),
        priority: asString(sa('Priority')),
        ...(typeof breached === 'boolean' ? { slaBreached: breached } : {}),
        ...(typeof deadline === 'string' ? { nextDeadline: new Date(deadline).toISOString() } : {}),
        startedAt: timestampIso(raw.startTime),
      });
      if (out.length >= filter.limit) return out;
    }
    return out;
  }

  /** The referral's state and its tracks' states; undefined when there is no such referral. */
  async get(referralId: string): Promise<Omit<ReferralDetail, 'persons'> | undefined> {
    let referral: ReferralState;
    try {
      referral = await this.client.workflow.getHandle(`referral-${referralId}`).query(referralStateQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
    const [justice, protection] = await Promise.all([
      this.optionalQuery<JusticeState>(justiceWorkflowId(referralId), justiceStateQuery),
      this.optionalQuery<ProtectionState>(protectionWorkflowId(referralId), protectionStateQuery),
    ]);
    return {
      referral,
      ...(justice ? { justice } : {}),
      ...(protection ? { protection } : {}),
      temporalUiUrl: `${this.ui.url}/namespaces/${this.ui.namespace}/workflows/referral-${referralId}`,
    };
  }

  /**
   * A partner organisation's tasks on the open protection tracks where it has a task open: one
   * visibility list (PartnerTasksOpen, kept by each track) and a query to each track it returns,
   * however many referrals are open.
   */
  async partnerTasks(organisation: string): Promise<PartnerTaskView[]> {
    // The engine's own tracks: a namespace may hold other deployments' (another task queue, whose workers this engine does not run).
    const query = [
      `WorkflowType = 'protectionWorkflow'`,
      `ExecutionStatus = 'Running'`,
      `${PartnerTasksOpenKey.name} = ${quote(organisation)}`,
      `TaskQueue = ${quote(this.startDeps.taskQueue)}`,
    ].join(' AND ');
    const ids: string[] = [];
    for await (const raw of this.visibilityRows(query, PARTNER_TASKS_PAGE)) if (raw.execution?.workflowId) ids.push(raw.execution.workflowId);
    // One track that cannot answer (its worker down, say) must not hide every other task, nor hold the page: each query has a deadline.
    const states = await allSettledPooled(ids, PARTNER_TASKS_QUERIES_IN_FLIGHT, (id) =>
      this.client.withDeadline(Date.now() + PARTNER_TASK_QUERY_TIMEOUT_MS, () => this.client.workflow.getHandle(id).query(protectionStateQuery)),
    );
    const out: PartnerTaskView[] = [];
    for (const settled of states) {
      if (settled.status !== 'fulfilled') continue;
      const state = settled.value;
      const own = state.tasks.filter((t) => t.partner === organisation);
      // Visibility trails the workflow: a track whose last open task for this organisation was
      // just completed may still be listed, and is left out as it will be once the list catches up.
      if (state.stage !== 'TASKS' || !own.some((t) => t.status === 'OPEN')) continue;
      for (const task of own) out.push({ referralId: state.referralId, stage: state.stage, ...task });
    }
    return out.sort((a, b) => a.dueBy.localeCompare(b.dueBy));
  }

  /**
   * Every referral the export may hold, read for it: visibility lists them page by page, and each
   * page's referrals are read (their state query and their start input, decrypted by the client's
   * data converter) at most EXPORT_READS_IN_FLIGHT at a time. `onProgress` is told after each page.
   */
  async exportCases(filter: ExportListFilter, onProgress?: (read: number) => void): Promise<ExportRead> {
    const clauses = [`WorkflowType = 'referralWorkflow'`];
    if (filter.leadAgency !== undefined) clauses.push(`LeadAgency = ${quote(filter.leadAgency)}`);
    if (filter.detectedFrom !== undefined) clauses.push(`StartTime >= ${quote(new Date(filter.detectedFrom).toISOString())}`);
    const out: ExportRead = { cases: [], unreadable: 0 };
    let page: string[] = [];
    const readPage = async () => {
      // A referral whose worker is gone must not hold the export up: each read has a deadline.
      const settled = await allSettledPooled(page, EXPORT_READS_IN_FLIGHT, (id) => this.client.withDeadline(Date.now() + EXPORT_READ_TIMEOUT_MS, () => this.exportCase(id)));
      for (const s of settled) {
        if (s.status === 'fulfilled' && s.value) out.cases.push(s.value);
        else out.unreadable += 1;
      }
      page = [];
      onProgress?.(out.cases.length + out.unreadable);
    };
    for await (const raw of this.visibilityRows(clauses.join(' AND '), EXPORT_PAGE)) {
      const id = raw.execution?.workflowId;
      if (id) page.push(id);
      if (page.length >= EXPORT_PAGE) await readPage();
    }
    if (page.length > 0) await readPage();
    return out;
  }

  /** One referral for the export: its state (screening, case type as re-classified) and reported facts; undefined when it has none. */
  private async exportCase(workflowId: string): Promise<ExportCaseRead | undefined> {
    const handle = this.client.workflow.getHandle(workflowId);
    const [state, input] = await Promise.all([handle.query(referralStateQuery), this.startInput(workflowId)]);
    if (!input) return undefined;
    const { referral } = input;
    return {
      referralId: referral.referralId,
      caseType: state.caseType ?? referral.facts.caseType,
      ...(state.victimIdentified !== undefined ? { victimIdentified: state.victimIdentified } : {}),
      indicators: referral.facts.indicators ?? [],
      detectedAt: referral.detectedAt,
    };
  }

  /** The input the workflow's run started with (the first event of its history), decoded. */
  private async startInput(workflowId: string): Promise<ReferralWorkflowInput | undefined> {
    const history = await this.client.workflowService.getWorkflowExecutionHistory({
      namespace: this.client.options.namespace,
      execution: { workflowId },
      maximumPageSize: 1,
    });
    const payloads = history.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads;
    if (!payloads || payloads.length === 0) return undefined;
    return decodeFromPayloadsAtIndex<ReferralWorkflowInput>(this.client.options.loadedDataConverter, 0, payloads);
  }

  persons(referralId: string): Promise<Person[]> {
    return this.client.workflow.getHandle(`referral-${referralId}`).query(referralPersonsQuery);
  }

  /** Runs an update on one of the referral's workflows and returns its result. */
  act(workflowId: string, updateName: string, payload: unknown, updateId?: string): Promise<unknown> {
    return this.client.workflow.getHandle(workflowId).executeUpdate(updateName, { args: [payload], ...(updateId ? { updateId } : {}) });
  }

  /** Raw visibility rows of a list query, page after page (memos left encoded). */
  private async *visibilityRows(query: string, pageSize: number): AsyncGenerator<VisibilityRow> {
    let nextPageToken: Uint8Array | undefined;
    do {
      const page = await this.client.workflowService.listWorkflowExecutions({
        namespace: this.client.options.namespace,
        query,
        pageSize,
        ...(nextPageToken ? { nextPageToken } : {}),
      });
      yield* page.executions ?? [];
      nextPageToken = page.nextPageToken && page.nextPageToken.length > 0 ? page.nextPageToken : undefined;
    } while (nextPageToken);
  }

  private async optionalQuery<T>(workflowId: string, query: { name: string }): Promise<T | undefined> {
    try {
      return (await this.client.workflow.getHandle(workflowId).query(query.name)) as T;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }
}

/**
 * The visibility clause of the referrals a caller is a party to: its agency, or its committee's
 * jurisdiction entry, and for a district or provincial committee also the bare code (with the
 * province) that referrals started before jurisdictions carry; rows are then checked one by one.
 */
export function partiesClause(principal: PartyCandidate): string | undefined {
  const entry = partyEntryOf(principal);
  if (entry === undefined) return undefined;
  if (entry === principal.agency || !principal.jurisdiction) return `Parties = ${quote(entry)}`;
  return `Province = ${quote(principal.jurisdiction.province)} AND (Parties = ${quote(entry)} OR Parties = ${quote(principal.agency)})`;
}

function keywordList(payload: RawPayload | null | undefined): string[] {
  if (!payload) return [];
  const value = defaultPayloadConverter.fromPayload(payload);
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : typeof value === 'string' ? [value] : [];
}

function locationOf(sa: (name: string) => unknown): { province: string; district: string } | undefined {
  const province = sa('Province');
  const district = sa('District');
  return typeof province === 'string' && typeof district === 'string' ? { province, district } : undefined;
}

/** Visibility rows per page of the partner's list. */
const PARTNER_TASKS_PAGE = 500;
/** Queries to protection tracks at once: each may load (replay) a workflow on a worker. */
const PARTNER_TASKS_QUERIES_IN_FLIGHT = 32;
/** How long the task list waits for one track's state; past it the track's tasks are left out of this answer. */
const PARTNER_TASK_QUERY_TIMEOUT_MS = 5_000;

/** Visibility rows per page of the export's list, and reads of referrals at once (each a query and a history read). */
const EXPORT_PAGE = 500;
const EXPORT_READS_IN_FLIGHT = 16;
const EXPORT_READ_TIMEOUT_MS = 10_000;

/** Promise.allSettled over `items`, at most `inFlight` calls at a time, results in order. */
async function allSettledPooled<T, R>(items: readonly T[], inFlight: number, call: (item: T) => Promise<R>): Promise<Array<PromiseSettledResult<R>>> {
  const out = new Array<PromiseSettledResult<R>>(items.length);
  let next = 0;
  async function lane(): Promise<void> {
    while (next < items.length) {
      const i = next++;
      try {
        out[i] = { status: 'fulfilled', value: await call(items[i]!) };
      } catch (reason) {
        out[i] = { status: 'rejected', reason };
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(inFlight, items.length) }, lane));
  return out;
}

/** Visibility query literal: values come from validated enums or agency codes; quotes are escaped anyway. */
function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

type RawPayload = Parameters<typeof defaultPayloadConverter.fromPayload>[0];
type VisibilityRow = NonNullable<Awaited<ReturnType<Client['workflowService']['listWorkflowExecutions']>>['executions']>[number];

function searchAttribute(payload: RawPayload | null | undefined): unknown {
  if (!payload) return undefined;
  const value = defaultPayloadConverter.fromPayload(payload);
  return Array.isArray(value) && value.length === 1 ? value[0] : value;
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

const STATUS_NAMES = ['UNSPECIFIED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'CONTINUED_AS_NEW', 'TIMED_OUT'];

function statusName(status: number | null | undefined): string {
  return STATUS_NAMES[status ?? 0] ?? 'UNSPECIFIED';
}

function timestampIso(ts: { seconds?: { toNumber(): number } | number | null; nanos?: number | null } | null | undefined): string {
  if (!ts) return new Date(0).toISOString();
  const seconds = typeof ts.seconds === 'number' ? ts.seconds : (ts.seconds?.toNumber() ?? 0);
  return new Date(seconds * 1000 + Math.floor((ts.nanos ?? 0) / 1e6)).toISOString();
}
