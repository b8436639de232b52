import type { Visibility } from '../drivers/types.js';

/** What every storage event carries. */
export interface StorageEventBase {
  /** Name of the disk the operation ran on (the fake's name for a fake). */
  disk: string;
  /** When the operation completed. */
  time: Date;
}

/** A file was stored: put, writeStream, append or prepend. */
export interface WrittenEvent extends StorageEventBase {
  type: 'written';
  op: 'put' | 'writeStream' | 'append' | 'prepend';
  /** Normalized key of the file. */
  path: string;
  /** Bytes stored. */
  size: number;
  /** The new remote version token, when the backend returned one. */
  etag?: string;
}

/** A file was deleted (also reported for a file that was already missing: the delete succeeded). */
export interface DeletedEvent extends StorageEventBase {
  type: 'deleted';
  op: 'delete';
  path: string;
}

/** A file was copied (`copied`) or moved (`moved`). */
export interface TransferEvent extends StorageEventBase {
  type: 'copied' | 'moved';
  op: 'copy' | 'move';
  /** Normalized source key. */
  from: string;
  /** Normalized destination key. */
  to: string;
}

/** A directory was created or deleted (with everything below it). */
export interface DirectoryEvent extends StorageEventBase {
  type: 'directoryCreated' | 'directoryDeleted';
  op: 'makeDirectory' | 'deleteDirectory';
  path: string;
}

/** A file's visibility was set. */
export interface VisibilityEvent extends StorageEventBase {
  type: 'visibilityChanged';
  op: 'setVisibility';
  path: string;
  visibility: Visibility;
}

/** Any storage event. */
export type StorageEvent = WrittenEvent | DeletedEvent | TransferEvent | DirectoryEvent | VisibilityEvent;

/** Event names and their payloads; `'*'` receives every event. */
export interface StorageEventMap {
  written: WrittenEvent;
  deleted: DeletedEvent;
  copied: TransferEvent & { type: 'copied'; op: 'copy' };
  moved: TransferEvent & { type: 'moved'; op: 'move' };
  directoryCreated: DirectoryEvent & { type: 'directoryCreated'; op: 'makeDirectory' };
  directoryDeleted: DirectoryEvent & { type: 'directoryDeleted'; op: 'deleteDirectory' };
  visibilityChanged: VisibilityEvent;
  '*': StorageEvent;
}

/** A name `on()` accepts. */
export type StorageEventName = keyof StorageEventMap;

/** A listener; a returned promise is not awaited, but its rejection is reported like a throw. */
export type StorageListener<K extends StorageEventName> = (event: StorageEventMap[K]) => unknown;

/** Called with a listener's error (thrown or rejected) and the event it was handling. */
export type ListenerErrorHandler = (error: unknown, event: StorageEvent) => void;

type AnyListener = (event: StorageEvent) => unknown;

/**
 * A small typed event hub. Disks emit an event only after an operation
 * succeeded, synchronously, to the listeners of its type and then of `'*'`,
 * and pass it on to their parent hub (the StorageManager's, which hears every
 * disk: an audit trail). A listener that throws or rejects never fails the
 * operation nor stops the other listeners: its error goes to
 * `onListenerError` (default: a warning on the process logger).
 */
export class StorageEvents {
  readonly #listeners = new Map<StorageEventName, Set<AnyListener>>();

  constructor(
    private readonly parent?: StorageEvents,
    private readonly onListenerError: ListenerErrorHandler = logListenerError,
  ) {}

  /** Adds a listener; returns a function that removes it. */
  on<K extends StorageEventName>(name: K, listener: StorageListener<K>): () => void {
    let set = this.#listeners.get(name);
    if (set === undefined) this.#listeners.set(name, (set = new Set()));
    set.add(listener as AnyListener);
    return () => this.off(name, listener);
  }

  /** Adds a listener that runs for the next matching event only; returns a function that removes it. */
  once<K extends StorageEventName>(name: K, listener: StorageListener<K>): () => void {
    const wrapper: StorageListener<K> = (event) => {
      remove();
      return listener(event);
    };
    const remove = this.on(name, wrapper);
    return remove;
  }

  /** Removes a listener added with on() (a listener added with once() is removed by the function once() returned). */
  off<K extends StorageEventName>(name: K, listener: StorageListener<K>): void {
    this.#listeners.get(name)?.delete(listener as AnyListener);
  }

  /** Number of listeners for `name` on this hub (not its parent). */
  listenerCount(name: StorageEventName): number {
    return this.#listeners.get(name)?.size ?? 0;
  }

  /** Delivers `event` to this hub's listeners, then to the parent's. Never throws. */
  emit(event: StorageEvent): void {
    for (const name of [event.type, '*'] as const) {
      for (const listener of [...(this.#listeners.get(name) ?? [])]) this.#call(listener, event);
    }
    this.parent?.emit(event);
  }

  #call(listener: AnyListener, event: StorageEvent): void {
    try {
      const result = listener(event);
      if (isPromiseLike(result)) result.then(undefined, (err: unknown) => this.#report(err, event));
    } catch (err) {
      this.#report(err, event);
    }
  }

  #report(err: unknown, event: StorageEvent): void {
    try {
      this.onListenerError(err, event);
    } catch {
      // The error handler itself failed: nothing sensible is left to tell.
    }
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** The default listener-error handler: one warning line on stderr through process.emitWarning. */
export function logListenerError(error: unknown, event: StorageEvent): void {
  const reason = error instanceof Error ? error.message : String(error);
  process.emitWarning(`storage event listener failed on '${event.type}' of disk '${event.disk}': ${reason}`, {
    type: 'StorageListenerWarning',
    code: 'STORAGED_LISTENER_ERROR',
  });
}
