import { FsError } from '../../core/errors.js';
import type { ClamdScanner } from '../../processing/scan/index.js';
import type { ImageLimits } from '../../processing/images/index.js';
import { convertStep, type ConvertStepOptions } from './steps/convert.js';
import { metadataStep } from './steps/metadata.js';
import { optimiseStep, type OptimiseStepOptions } from './steps/optimise.js';
import { hasAnyRule, rulesStep, type RulesStepOptions } from './steps/rules.js';
import { scanStep } from './steps/scan.js';
import { stageStep } from './steps/stage.js';
import { thumbnailsStep, type ThumbnailsStepOptions } from './steps/thumbnails.js';
import { watermarkStep, type WatermarkStepOptions } from './steps/watermark.js';
import type { MetadataSink, Step } from './types.js';

/** A hook storaged runs itself (config `watch.<name>.hooks[]`), options in camelCase. */
export type BuiltinHookSpec =
  | { kind: 'metadata' }
  | ({ kind: 'thumbnails' } & Omit<ThumbnailsStepOptions, 'limits'>)
  | ({ kind: 'optimise' } & Omit<OptimiseStepOptions, 'limits'>)
  | ({ kind: 'convert' } & Omit<ConvertStepOptions, 'limits' | 'folderPath' | 'metadata'>)
  | ({ kind: 'watermark' } & Omit<WatermarkStepOptions, 'limits'>);

/** A user's hook (a command, a module): built by PipelineDeps.customSteps. */
export interface CustomHookSpec {
  kind: 'command' | 'module';
}

/** What a watched folder asks for, in pipeline terms (the caller maps its config onto this). */
export interface PipelineSpec<Custom extends CustomHookSpec = CustomHookSpec> {
  /**
   * The watched folder's path inside its disk ('' = the whole disk); '' or
   * absent for a local folder. Places converted files and metadata records.
   */
  folderPath?: string;
  /** Upload rules; the rules step runs when any rule applies (sniff defaults to on). */
  rules?: RulesStepOptions;
  /** Scan with clamd (needs PipelineDeps.scanner). */
  scan?: boolean;
  /** The hooks, run in this order after rules and scan. */
  hooks: readonly (BuiltinHookSpec | Custom)[];
  /** Image safety limits for every image hook (defaults: DEFAULT_IMAGE_LIMITS). */
  limits?: Partial<ImageLimits>;
}

/** What the steps need from the daemon. */
export interface PipelineDeps<Custom extends CustomHookSpec = CustomHookSpec> {
  /** The clamd client; required when the spec scans. */
  scanner?: ClamdScanner;
  /** Where the metadata hook records (and convert forgets removed originals). */
  metadata: MetadataSink;
  /** The disk of a folder inside a mounted disk (metadata records name it). */
  disk?: string;
  /** Builds the step of a command or module hook; `name` is the step name to use (unique in the pipeline). */
  customSteps?: (hook: Custom, name: string) => Step;
}

const BUILTIN_KINDS: ReadonlySet<string> = new Set(['metadata', 'thumbnails', 'optimise', 'convert', 'watermark']);

/**
 * The steps of a watched folder's jobs, in order: stage (always first: the
 * dispatcher gives it input ''), rules (when any rule applies), scan (when
 * asked), then each hook in config order. Step names are the hook kinds,
 * made unique with a suffix when a kind repeats ('optimise', 'optimise-2'):
 * they name the results and the in-place outputs (`after-<name>`).
 * Throws EINVAL when the spec scans without a scanner, or has a command or
 * module hook and no customSteps.
 */
export function buildPipeline<Custom extends CustomHookSpec>(spec: PipelineSpec<Custom>, deps: PipelineDeps<Custom>): Step[] {
  const steps: Step[] = [stageStep()];
  if (hasAnyRule(spec.rules)) steps.push(rulesStep(spec.rules ?? {}));
  if (spec.scan === true) {
    if (deps.scanner === undefined) throw new FsError('EINVAL', 'a watched folder asks for scanning but no clamd scanner is configured', { op: 'config' });
    steps.push(scanStep({ scanner: deps.scanner }));
  }
  const used = new Map<string, number>();
  const uniqueName = (kind: string): string => {
    const count = (used.get(kind) ?? 0) + 1;
    used.set(kind, count);
    return count === 1 ? kind : `${kind}-${count}`;
  };
  for (const hook of spec.hooks) {
    const name = uniqueName(hook.kind);
    if (isBuiltin(hook)) steps.push(builtinStep(hook, name, spec, deps));
    else if (deps.customSteps !== undefined) steps.push(deps.customSteps(hook, name));
    else throw new FsError('EINVAL', `hook '${hook.kind}' needs a custom step builder (PipelineDeps.customSteps)`, { op: 'config' });
  }
  return steps;
}

function isBuiltin(hook: BuiltinHookSpec | CustomHookSpec): hook is BuiltinHookSpec {
  return BUILTIN_KINDS.has(hook.kind);
}

function builtinStep(hook: BuiltinHookSpec, name: string, spec: PipelineSpec<CustomHookSpec>, deps: PipelineDeps<never>): Step {
  const limits = spec.limits !== undefined ? { limits: spec.limits } : {};
  const folderPath = spec.folderPath ?? '';
  switch (hook.kind) {
    case 'metadata':
      return metadataStep({ sink: deps.metadata, folderPath, ...(deps.disk !== undefined ? { disk: deps.disk } : {}), ...limits }, name);
    case 'thumbnails': {
      const { kind: _kind, ...options } = hook;
      return thumbnailsStep({ ...options, ...limits }, name);
    }
    case 'optimise': {
      const { kind: _kind, ...options } = hook;
      return optimiseStep({ ...options, ...limits }, name);
    }
    case 'convert': {
      const { kind: _kind, ...options } = hook;
      return convertStep({ ...options, folderPath, metadata: deps.metadata, ...limits }, name);
    }
    case 'watermark': {
      const { kind: _kind, ...options } = hook;
      return watermarkStep({ ...options, ...limits }, name);
    }
  }
}
