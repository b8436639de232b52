import { FsError, type FsErrorCode } from '../../core/errors.js';

/** The memory driver's operations, as failure rules name them. */
export type MemoryOperation =
  | 'stat'
  | 'list'
  | 'read'
  | 'write'
  | 'delete'
  | 'createDirectory'
  | 'deleteDirectory'
  | 'copy'
  | 'move'
  | 'setVisibility'
  | 'getVisibility'
  | 'checksum'
  | 'temporaryUrl'
  | 'temporaryUploadUrl';

/** One injected failure: which operations it hits, with what code, how often. */
export interface FailureRule {
  /** The operation to fail, or '*' for every operation. */
  op: MemoryOperation | '*';
  /** The FsError code the operation rejects with. */
  code: FsErrorCode;
  /** Fire at most this many times, then the rule retires (default: forever). */
  times?: number;
  /** Chance (0..1) that a matching call fails (default 1). */
  probability?: number;
  /** Only keys starting with this prefix (normalized key form); any path matches when absent. */
  path?: string;
  /**
   * For read and write only: let this many bytes through, then fail the
   * stream (a read stream errors midway; a write rejects after consuming
   * them and stores nothing). Rules with it never fail an operation up front.
   */
  afterBytes?: number;
}

/** A rule that was added; `remove()` retires it early. */
export interface InjectedFailure {
  remove(): void;
  /** How many times the rule has fired so far. */
  readonly fired: number;
}

interface ActiveRule {
  rule: FailureRule;
  remaining: number;
  fired: number;
}

/**
 * Failure injection for tests of the layers above a driver. Rules are
 * checked in the order they were added; the first one that fires decides.
 * One injector may be shared by several memory drivers.
 */
export class FailureInjector {
  private rules: ActiveRule[] = [];

  /** @param random source of randomness for `probability` (injectable for deterministic tests). */
  constructor(private readonly random: () => number = Math.random) {}

  /** Adds a rule; it applies to calls started after this one. */
  inject(rule: FailureRule): InjectedFailure {
    if (rule.probability !== undefined && !(rule.probability >= 0 && rule.probability <= 1)) {
      throw new FsError('EINVAL', `failure rule: probability ${rule.probability} is not within 0..1`, { op: 'inject' });
    }
    if (rule.times !== undefined && !(Number.isInteger(rule.times) && rule.times >= 0)) {
      throw new FsError('EINVAL', `failure rule: times ${rule.times} is not a non-negative integer`, { op: 'inject' });
    }
    const active: ActiveRule = { rule: { ...rule }, remaining: rule.times ?? Infinity, fired: 0 };
    this.rules.push(active);
    return {
      remove: () => {
        this.rules = this.rules.filter((r) => r !== active);
      },
      get fired() {
        return active.fired;
      },
    };
  }

  /** Removes every rule. */
  clear(): void {
    this.rules = [];
  }

  /** Number of rules still active. */
  get size(): number {
    return this.rules.filter((r) => r.remaining > 0).length;
  }

  /** Throws the injected FsError when an up-front rule fires for `op` on any of `keys`. */
  check(op: MemoryOperation, keys: string[]): void {
    const hit = this.fire(op, keys, false);
    if (hit) throw injectedError(hit.rule.code, op, keys[0] ?? '');
  }

  /**
   * For a read or write stream: the byte count after which it must fail and
   * the error to fail with, or undefined when no stream rule fires.
   */
  streamFailure(op: 'read' | 'write', key: string): { afterBytes: number; error: FsError } | undefined {
    const hit = this.fire(op, [key], true);
    if (!hit) return undefined;
    return { afterBytes: hit.rule.afterBytes ?? 0, error: injectedError(hit.rule.code, op, key) };
  }

  private fire(op: MemoryOperation, keys: string[], streaming: boolean): ActiveRule | undefined {
    for (const active of this.rules) {
      const { rule } = active;
      if (active.remaining <= 0) continue;
      if ((rule.afterBytes !== undefined) !== streaming) continue;
      if (rule.op !== '*' && rule.op !== op) continue;
      const prefix = rule.path;
      if (prefix !== undefined && !keys.some((key) => key.startsWith(prefix))) continue;
      if (rule.probability !== undefined && this.random() >= rule.probability) continue;
      active.remaining--;
      active.fired++;
      return active;
    }
    return undefined;
  }
}

function injectedError(code: FsErrorCode, op: string, key: string): FsError {
  return new FsError(code, `${op} '${key}': injected failure ${code}`, { path: key, op });
}
