import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FsError, type FsErrorCode } from '../../src/core/errors.js';
import type { StorageDriver } from '../../src/drivers/types.js';
import { collect, expectCode, readText, sleep, useDriver, within, writeText, type AreaContext } from './support.js';

/** Codes a driver may answer when its backend is unreachable. */
export const OUTAGE_CODES: readonly FsErrorCode[] = ['EIO', 'ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'EAGAIN'];
/** How long a call may take to fail while the backend is down. */
const FAIL_WITHIN_MS = 30_000;
/** How long the driver may take to work again after the backend is back. */
const RECOVER_WITHIN_MS = 20_000;

/** Outage: the backend goes away; calls fail fast with an I/O error; nothing is reported written that was not. */
export function describeOutage({ fixture }: AreaContext): void {
  describe('outage', () => {
    const driver = useDriver(fixture);

    it('while the backend is down calls fail with an I/O error; after it is back, only what was written exists', async (ctx) => {
      const interrupt = fixture.interrupt?.bind(fixture);
      ctx.skip(interrupt === undefined, fixture.interruptSkipReason ?? `fixture '${fixture.name}' cannot interrupt its backend`);
      if (interrupt === undefined) return;
      await writeText(driver(), 'outage/before.txt', 'written before the outage');

      const restore = await interrupt();
      let restored = false;
      try {
        await expectOutage(driver().write('outage/during.txt', Buffer.from('written during the outage')), 'write');
        await expectOutage(
          driver()
            .read('outage/before.txt')
            .then((stream) => collect(stream)),
          'read',
        );
        await expectOutage(driver().stat('outage/before.txt'), 'stat');
        await expectOutage(driver().list('outage', { recursive: false }), 'list');
        // Path checks come before any I/O, so a bad path is EINVAL even now.
        await expectCode(driver().write('../outside.txt', Buffer.from('x')), 'EINVAL');
        await restore();
        restored = true;
      } finally {
        if (!restored) await restore();
      }

      await recovered(driver());
      await expectCode(driver().stat('outage/during.txt'), 'ENOENT');
      expect(await readText(driver(), 'outage/before.txt')).toBe('written before the outage');
    }, 180_000);

    it('a write cut off mid-stream by the outage fails and leaves nothing under its name', async (ctx) => {
      const interrupt = fixture.interrupt?.bind(fixture);
      ctx.skip(interrupt === undefined, fixture.interruptSkipReason ?? `fixture '${fixture.name}' cannot interrupt its backend`);
      if (interrupt === undefined) return;
      let cut: Promise<() => Promise<void>> | undefined;
      async function* body(): AsyncGenerator<Buffer> {
        for (let sent = 0; sent < CUT_TOTAL_BYTES; sent += CUT_CHUNK_BYTES) {
          if (sent === CUT_AT_BYTES) {
            cut = interrupt!(); // the backend goes away with the write in flight
            await cut;
          }
          yield randomBytes(CUT_CHUNK_BYTES);
        }
      }
      try {
        await expectOutage(driver().write('outage/cut.bin', Readable.from(body())), 'write cut mid-stream');
        expect(cut, 'the body was read up to the cut').toBeDefined();
      } finally {
        if (cut) await (await cut)();
      }
      await recovered(driver());
      await expectCode(driver().stat('outage/cut.bin'), 'ENOENT');
    }, 180_000);
  });
}

/** The mid-stream cut: a 12 MiB body (past one 5 MiB multipart part), the backend stopped after 4 MiB. */
const CUT_TOTAL_BYTES = 12 * 2 ** 20;
const CUT_CHUNK_BYTES = 256 * 2 ** 10;
const CUT_AT_BYTES = 4 * 2 ** 20;

/** Asserts the call rejects, within FAIL_WITHIN_MS, with an FsError carrying an outage code. */
async function expectOutage(call: Promise<unknown>, label: string): Promise<void> {
  const outcome = await within(
    call.then(
      () => ({ resolved: true as const }),
      (error: unknown) => ({ resolved: false as const, error }),
    ),
    FAIL_WITHIN_MS,
    `${label} during the outage`,
  );
  if (outcome.resolved) throw new Error(`${label} during the outage resolved; it must fail`);
  const { error } = outcome;
  if (!(error instanceof FsError)) throw new Error(`${label} during the outage: expected an FsError, got ${String(error)}`);
  expect(OUTAGE_CODES, `${label} during the outage: ${error.message}`).toContain(error.code);
}

/** Waits until the driver answers a stat again (retrying only outage codes), so a reconnect delay is no failure. */
async function recovered(driver: StorageDriver): Promise<void> {
  const deadline = Date.now() + RECOVER_WITHIN_MS;
  for (;;) {
    try {
      await driver.stat('outage/before.txt');
      return;
    } catch (err) {
      const retryable = err instanceof FsError && OUTAGE_CODES.includes(err.code);
      if (!retryable || Date.now() > deadline) throw err;
      await sleep(250);
    }
  }
}
