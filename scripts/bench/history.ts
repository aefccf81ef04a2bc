import type { Client, WorkflowHandle } from '@temporalio/client';

export interface ExecutionHistory {
  workflowId: string;
  runId: string;
  type: string;
  events: number;
  /** Largest serialized Payloads of the history: an input, result, heartbeat or failure detail. */
  maxPayloadBytes: number;
  maxPayloadEvent: string;
  /** Seconds from the first to the last event of the execution. */
  seconds: number;
  /** Activities by type: how many ran and their summed and longest time from start to close. */
  activities: Record<string, ActivityTimes>;
}

export interface ActivityTimes {
  count: number;
  totalSeconds: number;
  maxSeconds: number;
}

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

function secondsOf(event: HistoryEvent): number {
  const time = event.eventTime;
  return Number(time?.seconds ?? 0) + (time?.nanos ?? 0) / 1e9;
}

function durationOf(events: HistoryEvent[]): number {
  const first = events[0];
  const last = events[events.length - 1];
  return first && last ? secondsOf(last) - secondsOf(first) : 0;
}

/** Sums the start-to-close time of the activities of one history, by activity type. */
function activityTimes(events: HistoryEvent[]): Record<string, ActivityTimes> {
  const typeOf = new Map<string, string>();
  const startedAt = new Map<string, number>();
  const times: Record<string, ActivityTimes> = {};
  for (const event of events) {
    const id = String(event.eventId);
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) typeOf.set(id, scheduled.activityType?.name ?? 'unknown');
    const started = event.activityTaskStartedEventAttributes;
    if (started) startedAt.set(String(started.scheduledEventId), secondsOf(event));
    const closed =
      event.activityTaskCompletedEventAttributes ??
      event.activityTaskFailedEventAttributes ??
      event.activityTaskTimedOutEventAttributes;
    if (!closed) continue;
    const scheduledId = String(closed.scheduledEventId);
    const type = typeOf.get(scheduledId) ?? 'unknown';
    const seconds = secondsOf(event) - (startedAt.get(scheduledId) ?? secondsOf(event));
    const entry = (times[type] ??= { count: 0, totalSeconds: 0, maxSeconds: 0 });
    entry.count += 1;
    entry.totalSeconds += seconds;
    entry.maxSeconds = Math.max(entry.maxSeconds, seconds);
  }
  return times;
}

interface PayloadLike {
  data?: Uint8Array | null;
  metadata?: Record<string, Uint8Array> | null;
}

/** Bytes of one payload on the wire: data plus metadata keys and values, without framing bytes. */
function payloadBytes(payload: PayloadLike): number {
  let bytes = payload.data?.length ?? 0;
  for (const [key, value] of Object.entries(payload.metadata ?? {})) bytes += key.length + value.length;
  return bytes;
}

/** Finds every `payloads` list under `value` and returns the size of the largest one. */
function largestPayloads(value: unknown): number {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return 0;
  let largest = 0;
  const record = value as Record<string, unknown>;
  if (Array.isArray(record.payloads)) {
    const total = (record.payloads as PayloadLike[]).reduce((sum, p) => sum + payloadBytes(p), 0);
    largest = total;
  }
  for (const child of Object.values(record)) largest = Math.max(largest, largestPayloads(child));
  return largest;
}

/** Names an event by its attributes field, `activityTaskCompleted` for one. */
function eventKind(event: object): string {
  const entry = Object.entries(event).find(([key, value]) => key.endsWith('EventAttributes') && value);
  return entry ? entry[0].replace(/EventAttributes$/, '') : 'unknown';
}

/**
 * Walks the history of every workflow execution in the namespace: import workflows, their
 * deidentify children and any continued-as-new runs.
 */
export async function collectHistories(client: Client): Promise<ExecutionHistory[]> {
  const executions: ExecutionHistory[] = [];
  for await (const info of client.workflow.list()) {
    const history = await client.workflow.getHandle(info.workflowId, info.runId).fetchHistory();
    const events = history.events ?? [];
    let maxPayloadBytes = 0;
    let maxPayloadEvent = '';
    for (const event of events) {
      const bytes = largestPayloads(event);
      if (bytes > maxPayloadBytes) {
        maxPayloadBytes = bytes;
        maxPayloadEvent = eventKind(event);
      }
    }
    executions.push({
      workflowId: info.workflowId,
      runId: info.runId,
      type: info.type,
      events: events.length,
      maxPayloadBytes,
      maxPayloadEvent,
      seconds: durationOf(events),
      activities: activityTimes(events),
    });
  }
  return executions;
}
