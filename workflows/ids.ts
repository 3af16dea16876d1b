/**
 * Every workflow id rule, in one place: the referral's own workflow and its two tracks. A referral
 * id may itself contain "-", so an id ending in `-justice` or `-protection` can name a track of one
 * referral or the referral workflow of another: `referralIdsOf` gives both readings.
 */
const JUSTICE_SUFFIX = '-justice';
const PROTECTION_SUFFIX = '-protection';
const PREFIX = 'referral-';

export function referralWorkflowId(referralId: string): string {
  return `${PREFIX}${referralId}`;
}
export function justiceWorkflowId(referralId: string): string {
  return `${PREFIX}${referralId}${JUSTICE_SUFFIX}`;
}
export function protectionWorkflowId(referralId: string): string {
  return `${PREFIX}${referralId}${PROTECTION_SUFFIX}`;
}

/** The referral ids a workflow id can belong to (one, or two when it reads as a track too); none for another workflow. */
export function referralIdsOf(workflowId: string): string[] {
  if (!workflowId.startsWith(PREFIX) || workflowId.length === PREFIX.length) return [];
  const rest = workflowId.slice(PREFIX.length);
  const ids = [rest];
  for (const suffix of [JUSTICE_SUFFIX, PROTECTION_SUFFIX]) {
    if (rest.endsWith(suffix) && rest.length > suffix.length) ids.push(rest.slice(0, -suffix.length));
  }
  return ids;
}
