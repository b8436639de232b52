import type { FsErrorCode } from '../../core/errors.js';
import type { ScanResult } from './types.js';

/** A clamd answer that is not a verdict: the failure code and why. */
export interface ReplyProblem {
  code: FsErrorCode;
  reason: string;
}

const STREAM_PREFIX = 'stream: ';
const FOUND_SUFFIX = ' FOUND';

/**
 * Reads clamd's answer to INSTREAM (without its terminating NUL):
 * `stream: OK` is clean, `stream: NAME FOUND` is infected with NAME. Anything
 * else is a problem, never a verdict: the size limit is EFBIG, a read timeout
 * ETIMEDOUT, every other `... ERROR` or unknown text EIO.
 */
export function parseScanReply(reply: string): ScanResult | ReplyProblem {
  const text = reply.trim();
  if (text === `${STREAM_PREFIX}OK`) return { verdict: 'clean' };
  if (text.startsWith(STREAM_PREFIX) && text.endsWith(FOUND_SUFFIX)) {
    const signature = text.slice(STREAM_PREFIX.length, -FOUND_SUFFIX.length).trim();
    if (signature.length > 0) return { verdict: 'infected', signature };
  }
  if (/size limit exceeded/i.test(text)) return { code: 'EFBIG', reason: `clamd refused the size: '${text}'` };
  if (/timed out|timeout/i.test(text)) return { code: 'ETIMEDOUT', reason: `clamd timed out: '${text}'` };
  if (text.length === 0) return { code: 'EIO', reason: 'clamd closed the connection without an answer' };
  if (text.endsWith('ERROR')) return { code: 'EIO', reason: `clamd reported an error: '${text}'` };
  return { code: 'EIO', reason: `unexpected answer from clamd: '${text}'` };
}

/** True when parseScanReply found a verdict rather than a problem. */
export function isVerdict(parsed: ScanResult | ReplyProblem): parsed is ScanResult {
  return 'verdict' in parsed;
}
