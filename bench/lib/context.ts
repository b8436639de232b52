import type { S3Client } from '@aws-sdk/client-s3';
import type { BenchOptions, ToolName } from './args.js';
import type { MetricKey } from './metrics.js';
import type { Target } from './targets/types.js';

/** The pre-generated random file that sequential writes copy in. */
export interface SourceFile {
  path: string;
  size: number;
  sha256: string;
}

/** Everything measured for one tool. */
export interface ToolResult {
  tool: ToolName;
  version: string;
  /** Median of the samples, per metric. */
  metrics: Partial<Record<MetricKey, number>>;
  /** Every sample, per metric. */
  samples: Partial<Record<MetricKey, number[]>>;
  /** Workload phase -> why it failed (the other phases still ran). */
  errors: Record<string, string>;
  /** Integrity checks that passed. */
  checks: string[];
}

/** What the workloads of one tool share. */
export interface ToolContext {
  target: Target;
  options: BenchOptions;
  source: SourceFile;
  /** Client of the shared s3rver (null for the local baseline). */
  client: S3Client | null;
  /** http://127.0.0.1:PORT of the shared s3rver (null for the local baseline). */
  endpoint: string | null;
  /** The tool's own bucket (or local folder name) for writes. */
  workVolume: string;
  /** The bucket (or local folder name) holding `many/` with options.entries objects. */
  listVolume: string;
  result: ToolResult;
  log(message: string): void;
}

/** Adds one sample to a metric. */
export function record(ctx: ToolContext, key: MetricKey, value: number): void {
  (ctx.result.samples[key] ??= []).push(value);
}
