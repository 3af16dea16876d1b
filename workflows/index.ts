export { referralWorkflow } from './referral.js';
export { protectionWorkflow } from './protection.js';
export { justiceWorkflow } from './justice.js';
