import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';

/** A workflow run's history and what it costs to keep: events, bytes, events by type. */
export type History = proto.temporal.api.history.v1.IHistory;
const HistoryMessage = proto.temporal.api.history.v1.History;
const EventType = proto.temporal.api.enums.v1.EventType;

export interface Run {
  workflowId: string;
  runId: string;
  history: History;
  events: number;
  /** Size of the history as Temporal stores and sends it (protobuf). */
  protoBytes: number;
  jsonBytes: number;
  /** Events by type, most frequent first: where a history's size comes from. */
  eventTypes: Record<string, number>;
  /** First replay of this history on the replay worker (its code paths not yet optimised). */
  replayMs?: number;
  /** Median of the later replays of the same history on the same worker. */
  warmReplayMs?: number;
  /** Every replay, in order. */
  replaysMs?: number[];
}

function countTypes(history: History): Record<string, number> {
  const counts = new Map<string, number>();
  for (const e of history.events ?? []) {
    const name = (EventType[e.eventType ?? 0] ?? String(e.eventType)).replace(/^EVENT_TYPE_/, '');
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1]));
}

export async function fetchRun(client: Client, workflowId: string, runId?: string): Promise<Run> {
  const handle = client.workflow.getHandle(workflowId, runId);
  const history = (await handle.fetchHistory()) as History;
  return {
    workflowId,
    runId: runId ?? (await handle.describe()).runId,
    history,
    events: history.events?.length ?? 0,
    protoBytes: HistoryMessage.encode(history).finish().length,
    jsonBytes: Buffer.byteLength(JSON.stringify(history)),
    eventTypes: countTypes(history),
  };
}

/** Every run of a workflow id, oldest first, walked back through continue-as-new from the latest. */
export async function runsOf(client: Client, workflowId: string): Promise<Run[]> {
  const runs: Run[] = [];
  let runId: string | undefined = (await client.workflow.getHandle(workflowId).describe()).runId;
  while (runId) {
    const run = await fetchRun(client, workflowId, runId);
    runs.unshift(run);
    runId = run.history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  return runs;
}

/** A run without its history, for the JSON file. */
export const withoutHistory = ({ history: _history, ...rest }: Run): Omit<Run, 'history'> => rest;
