import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { ReferralActivities } from '../activities/index.js';

/** Pure, local computations: short timeout, a few fast retries. */
export const routingActivityOptions: ActivityOptions = {
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '1 second', maximumAttempts: 5 },
};

/** Kafka may be down for a while: keep retrying with backoff, never give up on a notification. */
export const notificationActivityOptions: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
};

export const routing = proxyActivities<ReferralActivities>(routingActivityOptions);
export const notify = proxyActivities<ReferralActivities>(notificationActivityOptions);
