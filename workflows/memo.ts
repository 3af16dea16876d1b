/**
 * The referral's memo: only what its search attributes do not show (the policy version and the
 * tracks' stages). Stage, lead, place and deadlines are search attributes already; repeating them
 * here cost a memo update (a history event and a visibility write) at every change.
 * The intake bridge starts each referral with this memo, so the workflow writes it only when a
 * track moves.
 */
export interface ReferralMemo {
  policyVersion: string;
  tracks: Record<string, string | undefined>;
}

export function referralMemo(policyVersion: string, tracks: Record<string, string | undefined> = {}): ReferralMemo {
  return { policyVersion, tracks };
}
