import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { CloseRequest, ReferralState } from './types.js';

/** Every query, signal and update of the referral workflow, in one place. */
export const referralStateQuery = defineQuery<ReferralState>('referralState');
export const closeReferralUpdate = defineUpdate<ReferralState, [CloseRequest]>('closeReferral');
