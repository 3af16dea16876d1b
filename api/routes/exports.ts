import { randomUUID } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { ExportAudit } from '../../codec/audit.js';
import { buildExport, inMonths, toCsv, type ExportFilters, type HtcdsExport } from '../../exports/htcds.js';
import { AgencyCode } from '../../schemas/common.js';
import type { ExportAuditV1 } from '../../schemas/audit.js';
import { apiError } from '../errors.js';
import type { ReferralService } from '../referral-service.js';
import type { ApiApp, Deny } from '../server.js';

/** What the export needs besides the referrals: k, and where its audit records go. */
export interface ExportDeps {
  /** EXPORT_MIN_CELL. */
  minCell: number;
  /** The audit topic's writer (the codec server's); absent: exports are refused (503), never made unaudited. */
  audit?: ExportAudit;
  /** Where the audit record is logged (component export-audit). */
  logger: Logger;
}

const Month = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'expected a month, YYYY-MM (2026-11)');

export const ExportQuery = z
  .object({
    from: Month.optional().describe('first month of detection, inclusive (YYYY-MM)'),
    to: Month.optional().describe('last month of detection, inclusive (YYYY-MM)'),
    agency: z
      .string()
      .transform((s) => s.trim().toUpperCase())
      .pipe(AgencyCode.exclude(['PARTNER']))
      .optional()
      .describe('only referrals this agency leads'),
    format: z.enum(['csv', 'json']).optional().describe('csv or json; without it, the Accept header decides (JSON unless it asks for text/csv)'),
  })
  .strict()
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, { message: 'the last month is before the first (from)', path: ['to'] });

const MAY_EXPORT = new Set(['operator', 'admin']);

/** The format asked for: `?format=` first, then Accept (text/csv, or JSON: application/json, any type, or no Accept). */
export function exportFormat(format: 'csv' | 'json' | undefined, accept: string | undefined): 'csv' | 'json' | undefined {
  if (format) return format;
  if (!accept || accept.trim() === '') return 'json';
  const types = accept
    .split(',')
    .map((part) => {
      const [type = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
      const q = params.find((p) => p.startsWith('q='));
      return { type, q: q ? Number(q.slice(2)) : 1 };
    })
    .filter((t) => t.q > 0)
    .sort((a, b) => b.q - a.q);
  for (const { type } of types) {
    if (type === 'text/csv') return 'csv';
    if (type === 'application/json' || type === 'application/*' || type === '*/*') return 'json';
    if (type === 'text/*') return 'csv';
  }
  return undefined;
}

/**
 * GET /exports/htcds: the referrals within the filters, mapped to HTCDS 2.0 and de-identified
 * (exports/htcds.ts), for operators and admins. Each export is audited (log and audit topic)
 * before it is answered: an export whose record cannot be written is answered 503 and nothing.
 */
export function registerExportRoutes(api: ApiApp, service: ReferralService, deny: Deny, deps: ExportDeps): void {
  const log = deps.logger.child({ component: 'export-audit' });
  api.get(
    '/exports/htcds',
    {
      schema: {
        tags: ['exports'],
        summary: 'De-identified HTCDS 2.0 export (CSV or JSON): one row per referral, cells of fewer than EXPORT_MIN_CELL cases withheld; operators and admins; audited',
        querystring: ExportQuery,
      },
    },
    async (request, reply) => {
      const principal = request.principal!;
      if (!MAY_EXPORT.has(principal.role)) return deny(request, reply, `role ${principal.role} may not export: operators and admins only`);
      const format = exportFormat(request.query.format, request.headers.accept);
      if (!format) return reply.status(406).send(apiError('NOT_ACCEPTABLE', 'the export is text/csv or application/json: ask for one in Accept, or with ?format=csv|json', 'accept'));
      const filters: ExportFilters = {
        ...(request.query.from ? { from: request.query.from } : {}),
        ...(request.query.to ? { to: request.query.to } : {}),
        ...(request.query.agency ? { agency: request.query.agency } : {}),
      };
      if (!deps.audit) return unaudited(reply);
      const read = await service.exportCases({
        ...(filters.agency ? { leadAgency: filters.agency } : {}),
        ...(filters.from ? { detectedFrom: `${filters.from}-01T00:00:00.000Z` } : {}),
      });
      const cases = read.cases.filter((c) => inMonths(c.detectedAt, filters));
      const result = buildExport(cases, { filters, minCell: deps.minCell, unreadable: read.unreadable });
      const eventId = `export/${randomUUID()}`;
      const record: ExportAuditV1 = {
        principal: { id: principal.id, agency: principal.agency, role: principal.role, ...(principal.via ? { via: principal.via } : {}) },
        time: new Date().toISOString(),
        export: 'htcds',
        format,
        filters,
        minCell: deps.minCell,
        cases: result.cases,
        rows: result.rows.length,
        suppressed: result.suppressed,
        unreadable: result.unreadable,
        status: 200,
      };
      try {
        await deps.audit.writeExport(eventId, record);
      } catch (err) {
        log.error({ eventId, ...record, status: 503, auditTopic: 'failed', err: { name: (err as Error).name, message: (err as Error).message } }, 'export audit record could not be written: nothing exported');
        return unaudited(reply);
      }
      log.info({ eventId, ...record, auditTopic: 'written' }, 'HTCDS export');
      return send(reply, format, result);
    },
  );
}

function unaudited(reply: FastifyReply) {
  return reply.status(503).send(apiError('AUDIT_UNAVAILABLE', 'the audit record of this export could not be written; nothing was exported; try again'));
}

function send(reply: FastifyReply, format: 'csv' | 'json', result: HtcdsExport) {
  void reply
    .header('x-export-cases', String(result.cases))
    .header('x-export-rows', String(result.rows.length))
    .header('x-export-suppressed', String(result.suppressed))
    .header('x-export-unreadable', String(result.unreadable))
    .header('x-export-min-cell', String(result.minCell))
    .header('cache-control', 'no-store');
  if (format === 'json') return reply.type('application/json; charset=utf-8').send(result);
  return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="htcds-export.csv"').send(toCsv(result.rows));
}
