/** One task's next due time. `version` lets a rescheduled task leave its old entry behind. */
interface HeapEntry {
  at: number;
  taskId: string;
  version: number;
}

/**
 * A binary min-heap of due times. Rescheduling pushes a new entry and bumps the task's version;
 * stale entries are dropped when they surface (lazy deletion), so every change is O(log n).
 */
export interface FireHeap {
  push(entry: HeapEntry): void;
  peek(): HeapEntry | undefined;
  pop(): HeapEntry | undefined;
  size(): number;
  clear(): void;
}

export function createFireHeap(): FireHeap {
  const items: HeapEntry[] = [];
  const less = (a: HeapEntry, b: HeapEntry) => a.at < b.at;
  const swap = (i: number, j: number) => {
    const a = items[i];
    const b = items[j];
    if (a === undefined || b === undefined) return;
    items[i] = b;
    items[j] = a;
  };
  const up = (start: number) => {
    let i = start;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const node = items[i];
      const above = items[parent];
      if (node === undefined || above === undefined || !less(node, above)) return;
      swap(i, parent);
      i = parent;
    }
  };
  const down = (start: number) => {
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      const l = items[left];
      const r = items[right];
      const s = items[smallest];
      if (l !== undefined && s !== undefined && less(l, s)) smallest = left;
      const s2 = items[smallest];
      if (r !== undefined && s2 !== undefined && less(r, s2)) smallest = right;
      if (smallest === i) return;
      swap(i, smallest);
      i = smallest;
    }
  };
  return {
    push: (entry) => {
      items.push(entry);
      up(items.length - 1);
    },
    peek: () => items[0],
    pop: () => {
      const top = items[0];
      const last = items.pop();
      if (items.length > 0 && last !== undefined) {
        items[0] = last;
        down(0);
      }
      return top;
    },
    size: () => items.length,
    clear: () => {
      items.length = 0;
    },
  };
}
