import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Principal } from '../api/auth.js';
import type { DecodeReason } from '../schemas/audit.js';
import { referralIdsOf, referralWorkflowId } from '../workflows/ids.js';
import { isParty, withJurisdiction } from '../domain/jurisdiction.js';
import { DistrictKey, PartiesKey, ProvinceKey } from '../workflows/search-attributes.js';

/**
 * Who may read a payload in clear through the codec server. A payload names the workflow it
 * belongs to (`encryption-workflow-id`); the workflow id names the referral (workflows/ids.ts).
 *
 * - operators and admins: every payload, named or not;
 * - an agency's officer or supervisor: the payloads of a referral whose `Parties` search
 *   attribute (on `referral-<id>`) lists the agency — a district or provincial committee by its
 *   jurisdiction's entry (`AHTC-D:PUNJAB:LAHORE`), as the API decides (domain/jurisdiction.ts);
 * - partner organisations, callers without credentials, and payloads that name no workflow
 *   (for anyone but operators and admins): refused.
 */
export interface DecodeDecision {
  allowed: boolean;
  reason: DecodeReason;
  /** The referral ids the workflow id can belong to (both readings when it is ambiguous). */
  referralIds: string[];
}

/** The agencies party to a referral, or undefined when there is no `referral-<id>` workflow. */
export type PartiesLookup = (referralId: string) => Promise<readonly string[] | undefined>;

export interface DecodePolicyOptions {
  lookupParties: PartiesLookup;
  /** The Temporal namespace lookupParties reads; a request naming another is decided for operators and admins only. */
  namespace: string;
  /** How long an answer of lookupParties is reused (default 10 s): a new party decodes within it. */
  cacheTtlMs?: number;
  /** Answers kept at most (default 5000; the oldest go first). */
  cacheSize?: number;
  now?: () => number;
}

export interface DecodePolicy {
  /** `namespace`: the one the request names (X-Namespace), if it names one. */
  decide(principal: Principal | undefined, workflowId: string | undefined, namespace?: string): Promise<DecodeDecision>;
}

const SEES_ALL: Partial<Record<Principal['role'], DecodeReason>> = { operator: 'OPERATOR', admin: 'ADMIN' };

export function createDecodePolicy(options: DecodePolicyOptions): DecodePolicy {
  const ttl = options.cacheTtlMs ?? 10_000;
  const size = options.cacheSize ?? 5000;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { at: number; parties: Promise<readonly string[] | undefined> }>();

  const partiesOf = (referralId: string): Promise<readonly string[] | undefined> => {
    const hit = cache.get(referralId);
    if (hit && now() - hit.at < ttl) return hit.parties;
    cache.delete(referralId);
    const parties = options.lookupParties(referralId);
    cache.set(referralId, { at: now(), parties });
    // A failed lookup is not kept: the next request asks again.
    parties.catch(() => {
      if (cache.get(referralId)?.parties === parties) cache.delete(referralId);
    });
    while (cache.size > size) cache.delete(cache.keys().next().value!);
    return parties;
  };

  return {
    async decide(principal, workflowId, namespace) {
      const referralIds = workflowId === undefined ? [] : referralIdsOf(workflowId);
      const refuse = (reason: DecodeReason): DecodeDecision => ({ allowed: false, reason, referralIds });
      if (!principal) return refuse('ANONYMOUS');
      const seesAll = SEES_ALL[principal.role];
      if (seesAll) return { allowed: true, reason: seesAll, referralIds };
      if (principal.role === 'partner' || principal.agency === 'PARTNER') return refuse('PARTNER');
      if (namespace !== undefined && namespace !== options.namespace) return refuse('OTHER_NAMESPACE');
      if (workflowId === undefined) return refuse('UNTAGGED');
      if (referralIds.length === 0) return refuse('NOT_A_REFERRAL');
      let exists = false;
      let failed = false;
      for (const referralId of referralIds) {
        let parties: readonly string[] | undefined;
        try {
          parties = await partiesOf(referralId);
        } catch {
          failed = true;
          continue;
        }
        if (parties === undefined) continue;
        exists = true;
        // The API's rule: a committee only for referrals of its own jurisdiction.
        if (isParty(principal, parties)) return { allowed: true, reason: 'PARTY', referralIds };
      }
      return refuse(failed ? 'LOOKUP_FAILED' : exists ? 'NOT_A_PARTY' : 'UNKNOWN_REFERRAL');
    },
  };
}

/** The `Parties` search attribute of `referral-<id>`, read with a Temporal client (describe). */
export function temporalPartiesLookup(client: Client): PartiesLookup {
  return async (referralId) => {
    try {
      const description = await client.workflow.getHandle(referralWorkflowId(referralId)).describe();
      const attributes = description.typedSearchAttributes;
      const province = attributes.get(ProvinceKey);
      const district = attributes.get(DistrictKey);
      // A list written before committees were qualified is read with the referral's own location.
      return withJurisdiction(attributes.get(PartiesKey) ?? [], province && district ? { province, district } : undefined);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  };
}
