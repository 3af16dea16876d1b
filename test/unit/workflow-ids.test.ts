import { describe, expect, it } from 'vitest';
import { justiceWorkflowId, protectionWorkflowId, referralIdsOf, referralWorkflowId } from '../../workflows/ids.js';

describe('workflow id rules', () => {
  it('reads the referral back from each of its workflows', () => {
    for (const id of ['TIP-2026-0001', 'FJA.2026_7']) {
      for (const wf of [referralWorkflowId(id), justiceWorkflowId(id), protectionWorkflowId(id)]) expect(referralIdsOf(wf)).toContain(id);
    }
  });

  it('gives both readings of an id that is a track of one referral or the referral workflow of another', () => {
    expect(referralIdsOf('referral-TIP-1-justice')).toEqual(['TIP-1-justice', 'TIP-1']);
    expect(referralIdsOf('referral-TIP-1')).toEqual(['TIP-1']);
  });

  it('names no referral for another workflow', () => {
    expect(referralIdsOf('bench-floor-1')).toEqual([]);
    expect(referralIdsOf('referral-')).toEqual([]);
    expect(referralIdsOf('referral--justice')).toEqual(['-justice']);
  });
});
