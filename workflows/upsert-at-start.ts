import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';

/**
 * Upserts only the pairs whose value the workflow did not start with (its starter, or the run it
 * continued from, set the rest): each upsert is a history event and a visibility write.
 */
export function upsertUnlessSetAtStart(pairs: SearchAttributeUpdatePair[]): void {
  const { typedSearchAttributes: atStart } = workflowInfo();
  const missing = pairs.filter(({ key, value }) => atStart.get(key as never) !== value);
  if (missing.length > 0) upsertSearchAttributes(missing);
}
