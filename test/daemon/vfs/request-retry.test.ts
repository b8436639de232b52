import { describe, expect, it } from 'vitest';
import { FsError } from '../../../src/core/errors.js';
import { retryRequest } from '../../../src/daemon/vfs/request-retry.js';

const fast = { attempts: 4, firstPauseMs: 1 };

/** A request failing with `codes` in turn, then answering 'done'; counts its calls. */
function flaky(...codes: string[]) {
  const request = async () => {
    request.calls++;
    const code = codes[request.calls - 1] as FsError["code"] | undefined;
    if (code !== undefined) throw new FsError(code, `request failed: ${code}`);
    return 'done';
  };
  request.calls = 0;
  return request;
}

describe('retryRequest', () => {
  it('retries transient failures until the request succeeds', async () => {
    const request = flaky('EIO', 'EAGAIN', 'ECONNRESET');
    await expect(retryRequest(request, undefined, fast)).resolves.toBe('done');
    expect(request.calls).toBe(4);
  });

  it('fails with the last error once its attempts are spent', async () => {
    const request = flaky('EIO', 'EIO', 'EIO', 'EAGAIN', 'EIO');
    await expect(retryRequest(request, undefined, fast)).rejects.toMatchObject({ code: 'EAGAIN' });
    expect(request.calls).toBe(4);
  });

  it.each(['ENOENT', 'EACCES', 'EINVAL', 'EEXIST', 'ECONNREFUSED'])('throws %s at once: a quick retry does not change it', async (code) => {
    const request = flaky(code);
    await expect(retryRequest(request, undefined, fast)).rejects.toMatchObject({ code });
    expect(request.calls).toBe(1);
  });

  // A pause of a minute: only its early end lets the test finish within vitest's timeout.
  it('stops retrying when its signal aborts, ending the pause early', async () => {
    const controller = new AbortController();
    const request = flaky('EIO', 'EIO', 'EIO');
    const run = retryRequest(request, controller.signal, { attempts: 4, firstPauseMs: 60_000 });
    setTimeout(() => controller.abort(), 20);
    await expect(run).rejects.toMatchObject({ code: 'EIO' });
    expect(request.calls).toBe(1);
  });

  it('does not retry when its signal aborted before the failure', async () => {
    const controller = new AbortController();
    controller.abort();
    const request = flaky('EIO');
    await expect(retryRequest(request, controller.signal, fast)).rejects.toMatchObject({ code: 'EIO' });
    expect(request.calls).toBe(1);
  });
});
