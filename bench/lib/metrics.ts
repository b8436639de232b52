/**
 * One number the bench reports for each tool. Labels name run parameters as
 * {size}, {files}, {fileSize}, {entries}, {streamSize}, and the write-back
 * workloads' fixed counts as {copies}, {latencyFiles}, {latencyFileSize}, {slowBackend}.
 */
export interface MetricDefinition {
  key: MetricKey;
  label: string;
  unit: 'MB/s' | 'files/s' | 'ms' | 's' | 'MiB' | 'files' | 'x';
  better: 'higher' | 'lower';
  /** The target for storaged, as a ratio to rclone or an absolute bound. */
  target?: { kind: 'ratio-to-rclone'; factor: number } | { kind: 'at-most'; value: number };
}

export type MetricKey =
  | 'seqWriteMBps'
  | 'seqWriteUploadedMBps'
  | 'seqReadMBps'
  | 'seqReadColdMBps'
  | 'createFilesPerSec'
  | 'createUploadedFilesPerSec'
  | 'list500Ms'
  | 'list10kColdMs'
  | 'list10kRemountMs'
  | 'idleRssMiB'
  | 'streamWriteMBps'
  | 'streamReadMBps'
  | 'streamPeakRssMiB'
  | 'dedupWriteS'
  | 'dedupUploadedS'
  | 'dedupUploadMiB'
  | 'dedupCacheMiB'
  | 'dedupCopiedFiles'
  | 'dedupSavedMiB'
  | 'closeFastMedianMs'
  | 'closeFastP95Ms'
  | 'closeFastTotalMs'
  | 'closeFastUploadedS'
  | 'closeSlowMedianMs'
  | 'closeSlowP95Ms'
  | 'closeSlowTotalMs'
  | 'closeSlowUploadedS'
  | 'closeSlowToFastMedian'
  | 'closeSlowToFastP95';

/** Every metric in report order. MB is 10^6 bytes (as dd prints), MiB 2^20. */
export const METRICS: MetricDefinition[] = [
  { key: 'seqWriteMBps', label: 'sequential write of {size}, close included', unit: 'MB/s', better: 'higher', target: { kind: 'ratio-to-rclone', factor: 1.5 } },
  { key: 'seqWriteUploadedMBps', label: 'sequential write until the object is in the bucket', unit: 'MB/s', better: 'higher' },
  { key: 'seqReadMBps', label: 'read back, same mount, page cache dropped', unit: 'MB/s', better: 'higher', target: { kind: 'ratio-to-rclone', factor: 2 } },
  { key: 'seqReadColdMBps', label: 'read after a remount with an empty cache', unit: 'MB/s', better: 'higher' },
  { key: 'createFilesPerSec', label: 'create {files} files of {fileSize}, one process', unit: 'files/s', better: 'higher', target: { kind: 'ratio-to-rclone', factor: 2 } },
  { key: 'createUploadedFilesPerSec', label: 'create {files} files until all are in the bucket', unit: 'files/s', better: 'higher' },
  { key: 'list500Ms', label: '`ls -l` of the {files} created files', unit: 'ms', better: 'lower', target: { kind: 'ratio-to-rclone', factor: 0.5 } },
  { key: 'list10kColdMs', label: '`ls -l` of {entries} objects, fresh mount, empty cache', unit: 'ms', better: 'lower' },
  { key: 'list10kRemountMs', label: '`ls -l` of {entries} objects after a remount keeping the cache', unit: 'ms', better: 'lower' },
  { key: 'idleRssMiB', label: 'daemon memory right after mounting', unit: 'MiB', better: 'lower' },
  { key: 'streamWriteMBps', label: 'stream write of {streamSize}', unit: 'MB/s', better: 'higher' },
  { key: 'streamReadMBps', label: 'stream read back of {streamSize}, page cache dropped', unit: 'MB/s', better: 'higher' },
  { key: 'streamPeakRssMiB', label: 'daemon peak memory while streaming {streamSize}', unit: 'MiB', better: 'lower', target: { kind: 'at-most', value: 200 } },
  { key: 'dedupWriteS', label: 'write the same {size} {copies} times under new names, closes included', unit: 's', better: 'lower' },
  { key: 'dedupUploadedS', label: 'the same, until all {copies} are in the bucket', unit: 's', better: 'lower' },
  { key: 'dedupUploadMiB', label: 'bytes uploaded for the {copies} copies (PUT/POST bodies)', unit: 'MiB', better: 'lower' },
  { key: 'dedupCacheMiB', label: 'cache folder once the {copies} copies are in the bucket', unit: 'MiB', better: 'lower' },
  { key: 'dedupCopiedFiles', label: 'files made by a server-side copy (`storaged status`)', unit: 'files', better: 'higher' },
  { key: 'dedupSavedMiB', label: 'upload saved by deduplication (`storaged status`)', unit: 'MiB', better: 'higher' },
  { key: 'closeFastMedianMs', label: 'open-write-close of {latencyFileSize}, fast backend, median of {latencyFiles}', unit: 'ms', better: 'lower' },
  { key: 'closeFastP95Ms', label: 'the same, 95th percentile', unit: 'ms', better: 'lower' },
  { key: 'closeFastTotalMs', label: 'the same, all {latencyFiles} files', unit: 'ms', better: 'lower' },
  { key: 'closeFastUploadedS', label: 'the same, until all {latencyFiles} are in the bucket', unit: 's', better: 'lower' },
  { key: 'closeSlowMedianMs', label: 'open-write-close of {latencyFileSize}, slow backend ({slowBackend}), median', unit: 'ms', better: 'lower' },
  { key: 'closeSlowP95Ms', label: 'the same, 95th percentile', unit: 'ms', better: 'lower' },
  { key: 'closeSlowTotalMs', label: 'the same, all {latencyFiles} files', unit: 'ms', better: 'lower' },
  { key: 'closeSlowUploadedS', label: 'the same, until all {latencyFiles} are in the bucket', unit: 's', better: 'lower' },
  { key: 'closeSlowToFastMedian', label: 'close latency slow/fast backend, median (1.00x: unchanged)', unit: 'x', better: 'lower' },
  { key: 'closeSlowToFastP95', label: 'close latency slow/fast backend, 95th percentile', unit: 'x', better: 'lower' },
];

/** The p-th percentile (0 < p <= 100) by nearest rank; NaN for no samples. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1]!;
}

/** Median of the samples (mean of the middle two for an even count); NaN for none. */
export function median(samples: number[]): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
