/**
 * Reuses the buffers that files are read into. Fresh 500 KB buffers for every file keep the garbage
 * collector busy with memory that is freed again a few milliseconds later.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];

  /**
   * @param maxFree buffers kept for reuse at most
   * @param maxPooledBytes size above which a released buffer is dropped instead of kept
   */
  constructor(
    private readonly maxFree: number,
    private readonly maxPooledBytes = 64 * 1024 ** 2,
  ) {}

  /** Returns a buffer of at least `size` bytes, with undefined contents. */
  acquire(size: number): Buffer {
    const index = this.free.findIndex((buffer) => buffer.length >= size);
    if (index >= 0) return this.free.splice(index, 1)[0] as Buffer;
    return Buffer.allocUnsafeSlow(Math.max(size, 1));
  }

  /** Takes back a buffer from `acquire`, or any view of one, once nothing uses its contents. */
  release(view: Uint8Array): void {
    const whole = Buffer.from(view.buffer, 0, view.buffer.byteLength);
    if (whole.length > this.maxPooledBytes || this.free.length >= this.maxFree) return;
    this.free.push(whole);
  }
}
