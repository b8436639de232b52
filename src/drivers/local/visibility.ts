import type { EntryType, Visibility } from '../types.js';

/** Permission bits per visibility: public 0644/0755, private 0600/0700. */
export const MODES: Record<Visibility, Record<EntryType, number>> = {
  public: { file: 0o644, directory: 0o755 },
  private: { file: 0o600, directory: 0o700 },
};

/** The permission bits for a file or directory of the given visibility. */
export function modeFor(visibility: Visibility, type: EntryType): number {
  return MODES[visibility][type];
}

/**
 * Visibility read back from permission bits: public when others may read
 * (0644, 0755, 0604...), private otherwise (0600, 0700, 0640...).
 */
export function visibilityOfMode(mode: number): Visibility {
  return (mode & 0o004) !== 0 ? 'public' : 'private';
}
