/** A queued node: when it is due, its scheduling order (ties), and what it carries. */
export interface HeapNode<T = unknown> {
  readonly dueMs: number;
  readonly order: number;
  readonly entry: T;
}

/** A binary min-heap of nodes by (dueMs, order). Replaced nodes stay in it, stale, until popped or compacted. */
export class DueHeap<T> {
  private items: HeapNode<T>[] = [];

  get size(): number {
    return this.items.length;
  }

  nodes(): HeapNode<T>[] {
    return this.items;
  }

  peek(): HeapNode<T> | undefined {
    return this.items[0];
  }

  push(node: HeapNode<T>): void {
    const items = this.items;
    items.push(node);
    let child = items.length - 1;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (!before(items[child]!, items[parent]!)) break;
      [items[child], items[parent]] = [items[parent]!, items[child]!];
      child = parent;
    }
  }

  pop(): HeapNode<T> | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  /** Replaces the content with `nodes` (any order), in O(n). */
  reset(nodes: HeapNode<T>[]): void {
    this.items = nodes;
    for (let index = (nodes.length >> 1) - 1; index >= 0; index--) this.siftDown(index);
  }

  private siftDown(start: number): void {
    const items = this.items;
    let index = start;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < items.length && before(items[left]!, items[smallest]!)) smallest = left;
      if (right < items.length && before(items[right]!, items[smallest]!)) smallest = right;
      if (smallest === index) return;
      [items[index], items[smallest]] = [items[smallest]!, items[index]!];
      index = smallest;
    }
  }
}

function before(a: HeapNode, b: HeapNode): boolean {
  return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.order < b.order);
}
