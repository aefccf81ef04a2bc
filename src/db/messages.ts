import type { Database } from './client';
import { batchMessages, type MessageLevel } from './schema';

export interface BatchMessage {
  batchId: number;
  deliveryId?: number;
  level: MessageLevel;
  /** Stable kind of the message, such as `skipped`, `conflict` or `failed`. */
  code: string;
  /** File or folder the message is about, relative to the batch folder. */
  path?: string;
  message: string;
}

/** Records a warning or error of a batch; recording the same code for the same file twice is a no-op. */
export async function recordMessage(db: Database, message: BatchMessage): Promise<void> {
  await db
    .insert(batchMessages)
    .values({
      batchId: message.batchId,
      deliveryId: message.deliveryId ?? null,
      level: message.level,
      code: message.code,
      path: message.path ?? null,
      message: message.message,
    })
    .onConflictDoNothing();
}
