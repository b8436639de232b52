import { errnoNumber, isFsError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

/** -EIO: the answer for any failure that is not an FsError. */
export const EIO = -errnoNumber('EIO');

/**
 * The one errno mapping of the mount: an FsError answers its own negative
 * errno (FsError.errno); anything else is a bug or an unmapped failure and
 * answers -EIO.
 */
export function errnoOf(err: unknown): number {
  return isFsError(err) ? err.errno : EIO;
}

/** What a successful operation hands its callback: the result code first (0, or a byte count), then values. */
export type ReplyArgs = readonly [number, ...unknown[]];

/** A fuse-native callback, whatever the operation. */
export type FuseCallback = (code: number, ...values: never[]) => void;

/** Replies to one FUSE request from the outcome of `work`; see makeReply. */
export type Reply = (cb: FuseCallback, work: () => Promise<ReplyArgs>) => void;

/**
 * Builds the wrapper every FUSE callback goes through: runs `work`, calls
 * `cb(...args)` with what it resolves to, or `cb(errno)` when it fails
 * (a throw before the first await included). Errors that are not FsErrors
 * are logged with their stack, since the caller only ever sees EIO.
 */
export function makeReply(logger: Logger): Reply {
  return (cb, work) => {
    const answer = cb as (code: number, ...values: unknown[]) => void;
    let pending: Promise<ReplyArgs>;
    try {
      pending = work();
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then(
      (args) => answer(...args),
      (err: unknown) => {
        if (isFsError(err)) logger.debug({ code: err.code, reason: err.message }, 'fuse operation failed');
        else logger.error({ err }, 'fuse operation failed unexpectedly; answering EIO');
        answer(errnoOf(err));
      },
    );
  };
}
