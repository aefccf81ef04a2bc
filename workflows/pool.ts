/** Runs `task` for each item with at most `limit` running at once; rejects on the first failure. */
export async function runPool<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  async function lane(): Promise<void> {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await task(items[index] as T);
    }
  }
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane);
  await Promise.all(lanes);
  return results;
}

/** Splits [0, total) into half-open ranges of `size`. */
export function ranges(total: number, size: number): Array<[number, number]> {
  const result: Array<[number, number]> = [];
  for (let start = 0; start < total; start += size) result.push([start, Math.min(total, start + size)]);
  return result;
}

/**
 * Runs `task` for each item in order with at most `limit` running at once, like runPool, but
 * starts no further item once `stop()` returns true and waits for the running ones. The first
 * item always starts, so a caller that continues as new after each call still makes progress.
 * Returns how many items started; each of them completed, and they are the first ones.
 */
export async function runPoolUntil<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<unknown>,
  stop: () => boolean,
): Promise<number> {
  let next = 0;
  async function lane(): Promise<void> {
    while (next < items.length && (next === 0 || !stop())) {
      const index = next;
      next += 1;
      await task(items[index] as T);
    }
  }
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane);
  await Promise.all(lanes);
  return next;
}
