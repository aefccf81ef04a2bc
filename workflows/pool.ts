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
