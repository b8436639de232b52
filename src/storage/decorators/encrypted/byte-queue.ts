/**
 * A FIFO of bytes arriving in pieces of any size, from which fixed-size
 * pieces are taken as views, without copying. Pieces are kept by reference:
 * a chunk written to a Node stream belongs to the stream (producers that
 * reuse written buffers break every stream consumer), so no copy is needed.
 */
export class ByteQueue {
  private readonly parts: Buffer[] = [];
  private size = 0;

  /** Bytes buffered. */
  get length(): number {
    return this.size;
  }

  /** Appends `bytes` by reference. */
  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.parts.push(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    this.size += bytes.length;
  }

  /**
   * Removes and returns the first `count` bytes (fewer when fewer are
   * buffered) as one buffer: copied only when they span several parts. The
   * result may share memory with a pushed buffer.
   */
  take(count: number): Buffer {
    const parts = this.takeParts(count);
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }

  /**
   * Removes and returns the first `count` bytes (fewer when fewer are
   * buffered) as views of the buffered parts, without copying.
   */
  takeParts(count: number): Buffer[] {
    const out: Buffer[] = [];
    let left = Math.min(count, this.size);
    this.size -= left;
    while (left > 0) {
      const part = this.parts[0] as Buffer;
      if (part.length <= left) {
        out.push(part);
        left -= part.length;
        this.parts.shift();
      } else {
        out.push(part.subarray(0, left));
        this.parts[0] = part.subarray(left);
        left = 0;
      }
    }
    return out;
  }
}
