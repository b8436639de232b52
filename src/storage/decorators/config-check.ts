import { ConfigError, ConfigErrors, suggest } from '../../core/config/errors.js';
import type { StoragedConfig } from '../../core/config/loader.js';
import { isDecoratorDriver, parseDecoratorDisk, type DecoratorConfigSource, type DecoratorDiskConfig } from './config.js';

/**
 * Checks every decorator disk of a loaded configuration (its `customDisks`
 * whose driver is a decorator) as a whole: each one's keys, that the disk it
 * wraps is configured (with a suggestion for a typo), and that no chain of
 * decorators leads back to itself. Returns the parsed configs by disk name.
 * Throws ConfigErrors (EINVAL) listing every problem, each naming
 * `disks.<name>.<key>` in `config.file`.
 */
export function checkDecoratorDisks(config: StoragedConfig): Record<string, DecoratorDiskConfig> {
  const source = config.file ?? '<embedded default>';
  const where: DecoratorConfigSource = { source, baseDir: config.baseDir, cacheDir: config.cache.dir };
  const known = [...Object.keys(config.disks), ...Object.keys(config.customDisks ?? {})];
  const parsed: Record<string, DecoratorDiskConfig> = {};
  const problems: ConfigError[] = [];
  for (const [name, raw] of Object.entries(config.customDisks ?? {})) {
    if (!isDecoratorDriver(raw.driver)) continue;
    try {
      parsed[name] = parseDecoratorDisk(name, raw, where);
    } catch (err) {
      if (err instanceof ConfigErrors) problems.push(...err.problems);
      else throw err;
    }
  }
  for (const [name, disk] of Object.entries(parsed)) {
    if (disk.disk === name) continue; // reported by parseDecoratorDisk
    if (!known.includes(disk.disk)) {
      const hint = suggest(disk.disk, known.filter((n) => n !== name));
      problems.push(new ConfigError(source, `disks.${name}.disk`, `names disk '${disk.disk}', which is not configured${hint ? ` (did you mean '${hint}'?)` : ''}`));
      continue;
    }
    const chain = [name];
    for (let next: DecoratorDiskConfig | undefined = disk; next !== undefined; next = parsed[next.disk]) {
      if (chain.includes(next.disk)) {
        // Each disk of a loop reports it once, when the walk from it comes back to it.
        if (next.disk === name) problems.push(new ConfigError(source, `disks.${name}.disk`, `disk '${name}' wraps itself: ${[...chain, name].join(' -> ')}`));
        break;
      }
      chain.push(next.disk);
    }
  }
  if (problems.length > 0) throw new ConfigErrors(problems);
  return parsed;
}
