/** One number the bench reports for each tool. Labels name run parameters as {size}, {files}, {fileSize}, {entries}, {streamSize}. */
export interface MetricDefinition {
  key: MetricKey;
  label: string;
  unit: 'MB/s' | 'files/s' | 'ms' | 'MiB';
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
  | 'streamPeakRssMiB';

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
];

/** Median of the samples (mean of the middle two for an even count); NaN for none. */
export function median(samples: number[]): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
