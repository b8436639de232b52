import { describe, expect, it } from 'vitest';
import { MemoryDriver } from '../../src/drivers/memory/index.js';
import { Disk } from '../../src/storage/disk.js';
import { StorageEvents, type StorageEvent } from '../../src/storage/events.js';
import { StorageManager } from '../../src/storage/manager.js';
import { expectCode } from '../conformance/support.js';
import { localBackend } from './support/disk-backends.js';

/** What matters of an event for comparison (time checked separately). */
const shape = ({ time, ...rest }: StorageEvent) => {
  expect(time).toBeInstanceOf(Date);
  return rest;
};

describe('storage events', () => {
  it('every write, delete, copy, move, directory change and visibility change emits one event, after it succeeded', async () => {
    const disk = new Disk(new MemoryDriver(), { name: 'audit' });
    const events: StorageEvent[] = [];
    disk.on('*', (event) => void events.push(event));
    await disk.put('./a//b.txt', 'hello');
    await disk.writeStream('s.txt', ['x', 'y']);
    await disk.append('a/b.txt', '!');
    await disk.prepend('a/b.txt', '>');
    await disk.copy('a/b.txt', 'c.txt');
    await disk.move('c.txt', 'd.txt');
    await disk.setVisibility('d.txt', 'public');
    await disk.delete(['d.txt', 's.txt']);
    await disk.makeDirectory('dir/sub/');
    await disk.deleteDirectory('dir');
    expect(events.map(shape)).toEqual([
      { type: 'written', op: 'put', disk: 'audit', path: 'a/b.txt', size: 5, etag: expect.any(String) },
      { type: 'written', op: 'writeStream', disk: 'audit', path: 's.txt', size: 2, etag: expect.any(String) },
      { type: 'written', op: 'append', disk: 'audit', path: 'a/b.txt', size: 6, etag: expect.any(String) },
      { type: 'written', op: 'prepend', disk: 'audit', path: 'a/b.txt', size: 7, etag: expect.any(String) },
      { type: 'copied', op: 'copy', disk: 'audit', from: 'a/b.txt', to: 'c.txt' },
      { type: 'moved', op: 'move', disk: 'audit', from: 'c.txt', to: 'd.txt' },
      { type: 'visibilityChanged', op: 'setVisibility', disk: 'audit', path: 'd.txt', visibility: 'public' },
      { type: 'deleted', op: 'delete', disk: 'audit', path: 'd.txt' },
      { type: 'deleted', op: 'delete', disk: 'audit', path: 's.txt' },
      { type: 'directoryCreated', op: 'makeDirectory', disk: 'audit', path: 'dir/sub' },
      { type: 'directoryDeleted', op: 'deleteDirectory', disk: 'audit', path: 'dir' },
    ]);
  });

  it('a failed operation emits nothing; reads emit nothing', async () => {
    const disk = new Disk(new MemoryDriver());
    const events: StorageEvent[] = [];
    disk.on('*', (event) => void events.push(event));
    await expectCode(disk.move('missing.txt', 'x.txt'), 'ENOENT');
    await expectCode(disk.copy('missing.txt', 'x.txt'), 'ENOENT');
    await expectCode(disk.put('/abs.txt', 'x'), 'EINVAL');
    await expectCode(disk.setVisibility('missing.txt', 'public'), 'ENOENT');
    await disk.makeDirectory('d');
    await expectCode(disk.delete('d'), 'EISDIR');
    events.length = 0;
    await disk.put('r.txt', 'r');
    events.length = 0;
    await disk.get('r.txt');
    await disk.exists('r.txt');
    await disk.files();
    expect(events).toEqual([]);
  });

  it('typed listeners get only their event; once() fires once; the returned function unsubscribes', async () => {
    const disk = new Disk(new MemoryDriver(), { name: 'typed' });
    const written: string[] = [];
    const moved: string[] = [];
    let onceCount = 0;
    const stop = disk.on('written', (event) => void written.push(`${event.op}:${event.path}:${event.size}`));
    disk.on('moved', (event) => void moved.push(`${event.from}->${event.to}`));
    disk.once('deleted', () => void onceCount++);
    await disk.put('a.txt', 'abc');
    await disk.move('a.txt', 'b.txt');
    await disk.delete('b.txt');
    await disk.delete('b.txt');
    stop();
    await disk.put('c.txt', 'c');
    expect(written).toEqual(['put:a.txt:3']);
    expect(moved).toEqual(['a.txt->b.txt']);
    expect(onceCount).toBe(1);
    expect(disk.events.listenerCount('written')).toBe(0);
  });

  it('a throwing or rejecting listener never fails the operation nor stops the others; its error is reported', async () => {
    const reported: [string, string][] = [];
    const disk = new Disk(new MemoryDriver(), {
      name: 'robust',
      onListenerError: (error, event) => void reported.push([(error as Error).message, event.type]),
    });
    const seen: string[] = [];
    disk.on('written', () => {
      throw new Error('listener broke');
    });
    disk.on('written', async () => {
      throw new Error('async listener broke');
    });
    disk.on('written', (event) => void seen.push(event.path));
    const result = await disk.put('still.txt', 'stored');
    expect(result.size).toBe(6);
    expect(await disk.getText('still.txt')).toBe('stored');
    expect(seen).toEqual(['still.txt']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(reported).toEqual([
      ['listener broke', 'written'],
      ['async listener broke', 'written'],
    ]);
  });

  it('by default a listener error becomes a process warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => void warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const disk = new Disk(new MemoryDriver(), { name: 'warned' });
      disk.on('deleted', () => {
        throw new Error('boom');
      });
      await disk.delete('x.txt');
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.map((w) => (w as Error & { code?: string }).code)).toContain('STORAGED_LISTENER_ERROR');
  });

  it("the manager's listeners hear every disk (config, runtime, build, local too); an orNull view shares its disk's events", async () => {
    const backend = localBackend();
    const manager = new StorageManager({ config: { disks: { one: { driver: 'memory' }, two: { driver: 'memory' } } } });
    const audit: string[] = [];
    manager.on('*', (event) => void audit.push(`${event.disk}:${event.type}`));
    const perDisk: string[] = [];
    manager.disk('one').on('written', (event) => void perDisk.push(event.path));
    await manager.disk('one').put('a.txt', 'a');
    await manager.disk('one').orNull().put('view.txt', 'v');
    await manager.disk('two').delete('b.txt');
    await manager.configureDisk('three', 'memory').makeDirectory('d');
    const local = manager.build(await backend.create(), { name: 'local' });
    await local.put('l.txt', 'l');
    expect(audit).toEqual(['one:written', 'one:written', 'two:deleted', 'three:directoryCreated', 'local:written']);
    expect(perDisk).toEqual(['a.txt', 'view.txt']);
    await local.close();
    await manager.close();
    await backend.cleanup();
  });

  it('a hub passes events on to its parent', () => {
    const parent = new StorageEvents();
    const child = new StorageEvents(parent);
    const got: string[] = [];
    parent.on('deleted', (event) => void got.push(`parent:${event.path}`));
    child.on('deleted', (event) => void got.push(`child:${event.path}`));
    child.emit({ type: 'deleted', op: 'delete', disk: 'd', path: 'p', time: new Date() });
    expect(got).toEqual(['child:p', 'parent:p']);
  });
});
