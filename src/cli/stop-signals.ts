/**
 * SIGINT/SIGTERM of a long-running command (mount, watch), from creation to
 * dispose(): the first asks for a clean stop, later ones for an immediate
 * one. Listening starts at once, so a signal that arrives while the command
 * is still starting is not lost.
 */
export class StopSignals {
  private count = 0;
  private listener: ((signal: NodeJS.Signals, count: number) => void) | undefined;
  private first: NodeJS.Signals | undefined;
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.count++;
    this.first ??= signal;
    this.listener?.(signal, this.count);
  };

  constructor() {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  /** Calls `listener` for every signal from now on, and at once for the first one if it already came. */
  listen(listener: (signal: NodeJS.Signals, count: number) => void): void {
    this.listener = listener;
    if (this.first !== undefined) listener(this.first, 1);
  }

  dispose(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}
