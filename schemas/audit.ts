import { z } from 'zod';
import { ApiRole } from '../config/identities.js';
import { CloudEventContext } from './cloudevents.js';
import { IsoDateTime } from './common.js';

/**
 * The codec server's audit record: one per decode request, on the operators-only audit topic and in
 * the log. Who asked, which referrals' payloads, when, and how many were decoded or refused, with
 * why; never a payload, a credential or a session id.
 */
export const CODEC_AUDIT_TYPE = 'referral.codec-audit.v1';

/** Why a workflow's payloads were decoded (OPERATOR, ADMIN, PARTY) or refused (the others). */
export const DecodeReason = z.enum([
  /** An operator: decodes every payload. */
  'OPERATOR',
  /** An admin: decodes every payload. */
  'ADMIN',
  /** The caller's agency is in the `Parties` search attribute of the referral. */
  'PARTY',
  /** The referral exists and the caller's agency is not party to it. */
  'NOT_A_PARTY',
  /** No referral workflow has this id (or any of the ids the workflow id can be read as). */
  'UNKNOWN_REFERRAL',
  /** The workflow id is not a referral's or a track's. */
  'NOT_A_REFERRAL',
  /** The payload names no workflow (older payloads, or encoded by the codec server): operators and admins only. */
  'UNTAGGED',
  /** Partner organisations never decode through the codec server. */
  'PARTNER',
  /** No credentials were sent. */
  'ANONYMOUS',
  /** The credentials sent were refused (the request was answered 401). */
  'UNAUTHENTICATED',
  /** The referral's parties could not be read from Temporal: refused rather than guessed. */
  'LOOKUP_FAILED',
  /** The request names another Temporal namespace (X-Namespace) than the one whose parties the server reads: operators and admins only. */
  'OTHER_NAMESPACE',
]);
export type DecodeReason = z.infer<typeof DecodeReason>;

const Count = z.number().int().min(0);

export const CodecAuditV1 = z
  .object({
    /** Who asked: an identity of the API, or `anonymous` (no credentials, or refused ones). */
    principal: z
      .object({
        id: z.string().min(1).max(100),
        agency: z.string().min(1).max(20).optional(),
        role: ApiRole.optional(),
        organisation: z.string().min(1).max(40).optional(),
        /** How the identity was proven when it signed in or called: an API key or a signed token. */
        via: z.enum(['api-key', 'jwt']).optional(),
      })
      .strict(),
    /** What the request carried: a bearer credential, a sign-in session cookie, nothing, or a credential that was refused. */
    credential: z.enum(['bearer', 'session', 'none', 'rejected']),
    /** The refusal code of rejected credentials (api/auth.ts AuthErrorCode, or SESSION_UNKNOWN). */
    authError: z.string().max(40).optional(),
    /** When the request was answered. */
    time: IsoDateTime,
    /** DECODED: every encrypted payload; PARTLY_REFUSED; REFUSED: none; NONE_ENCRYPTED: the request held no encrypted payload; FAILED: a payload could not be decrypted (422). */
    outcome: z.enum(['DECODED', 'PARTLY_REFUSED', 'REFUSED', 'NONE_ENCRYPTED', 'FAILED']),
    /** The HTTP status of the answer. */
    status: z.number().int().min(100).max(599),
    /** Every referral id the payloads' workflow ids can belong to (workflows/ids.ts referralIdsOf). */
    referralIds: z.array(z.string().max(300)),
    payloads: z
      .object({
        total: Count,
        decoded: Count,
        refused: Count,
        /** Not encrypted (histories from before encryption): returned as they are. */
        plain: Count,
      })
      .strict(),
    /** Per workflow the encrypted payloads named (null: payloads naming none), the decision and the counts. */
    workflows: z
      .array(
        z
          .object({
            workflowId: z.string().max(300).nullable(),
            referralIds: z.array(z.string().max(300)),
            decision: DecodeReason,
            decoded: Count,
            refused: Count,
          })
          .strict(),
      )
      .max(100),
    /** Workflows beyond the first 100 of the request, counted only. */
    moreWorkflows: Count.optional(),
    /** The browser origin of the request (the Temporal Web UI); absent for the CLI and scripts. */
    origin: z.string().max(300).optional(),
    /** The Temporal namespace the caller named (X-Namespace). */
    namespace: z.string().max(200).optional(),
  })
  .strict();
export type CodecAuditV1 = z.infer<typeof CodecAuditV1>;

/** A CloudEvent of the audit topic: subject the principal id (the Kafka key), data its record. */
function auditEvent<T extends string, D extends z.ZodTypeAny>(type: T, data: D) {
  return CloudEventContext.extend({ type: z.literal(type), subject: z.string().min(1).max(200), data });
}

/** The CloudEvent on the audit topic: id unique per request and kept on every retry of the write, subject the principal id (the Kafka key). */
export const CodecAuditEvent = auditEvent(CODEC_AUDIT_TYPE, CodecAuditV1);
export type CodecAuditEvent = z.infer<typeof CodecAuditEvent>;

/**
 * The HTCDS export's audit record: one per export (`GET /exports/htcds`, `referrals export`), on
 * the same operators-only audit topic and in the log. Who exported, when, with which filters, how
 * many cases were read, how many rows went out and how many were withheld; never a row.
 */
export const EXPORT_AUDIT_TYPE = 'referral.export-audit.v1';

export const ExportAuditV1 = z
  .object({
    /** Who exported: an identity of the API (operators and admins alone may). */
    principal: CodecAuditV1.shape.principal.omit({ organisation: true }),
    /** When the export was answered. */
    time: IsoDateTime,
    export: z.literal('htcds'),
    format: z.enum(['csv', 'json']),
    /** The filters asked for: months of detection (YYYY-MM) and the lead agency. */
    filters: z
      .object({
        from: z.string().regex(/^\d{4}-\d{2}$/).optional(),
        to: z.string().regex(/^\d{4}-\d{2}$/).optional(),
        agency: z.string().min(1).max(20).optional(),
      })
      .strict(),
    /** k: cells of fewer cases were withheld. */
    minCell: z.number().int().min(1),
    /** Referrals within the filters that were read. */
    cases: Count,
    /** Rows exported. */
    rows: Count,
    /** Cases withheld because their cell held fewer than minCell. */
    suppressed: Count,
    /** Referrals that could not be read (left out). */
    unreadable: Count,
    /** The HTTP status of the answer. */
    status: z.number().int().min(100).max(599),
  })
  .strict();
export type ExportAuditV1 = z.infer<typeof ExportAuditV1>;

/** The CloudEvent on the audit topic: id one per export, subject the principal id (the Kafka key). */
export const ExportAuditEvent = auditEvent(EXPORT_AUDIT_TYPE, ExportAuditV1);
export type ExportAuditEvent = z.infer<typeof ExportAuditEvent>;

/** Any record of the audit topic, by its type. */
export const AuditEvent = z.discriminatedUnion('type', [CodecAuditEvent, ExportAuditEvent]);
export type AuditEvent = z.infer<typeof AuditEvent>;
