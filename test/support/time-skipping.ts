import { TestWorkflowEnvironment } from '@temporalio/testing';
import { inject } from 'vitest';
import { registerSearchAttributes } from './time-skipping-attributes.js';

/**
 * A time-skipping environment on the installed test server binary (nothing is downloaded),
 * with the engine's custom search attributes registered as the dev server has them.
 */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: inject('testServerPath') } },
  });
  await registerSearchAttributes(env);
  return env;
}
