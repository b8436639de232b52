import { afterAll, beforeAll, describe } from 'vitest';
import { describeBadInput } from './bad-input.js';
import { describeConcurrency } from './concurrency.js';
import { describeCopyMove } from './copy-move.js';
import { describeExistence } from './existence.js';
import type { ConformanceFixture } from './fixture.js';
import { describeLargeFile } from './large-file.js';
import { describeListing } from './listing.js';
import { describeMetadata } from './metadata.js';
import { describeNames } from './names.js';
import { describeOutage } from './outage.js';
import { describeRanges } from './ranges.js';
import type { AreaContext } from './support.js';
import { describeUrls } from './urls.js';
import { describeWriteRead } from './write-read.js';

export type { ConformanceFixture } from './fixture.js';

/**
 * Registers the whole driver conformance suite (CONFORMANCE.md) for one
 * fixture: starts the backend once (beforeAll), stops it at the end
 * (afterAll), and gives each area its own fresh driver (closed after the
 * area). Cases whose capability the driver lacks are skipped with a note
 * naming the capability.
 */
export function describeConformance(fixture: ConformanceFixture): void {
  describe(`driver conformance: ${fixture.name}`, () => {
    beforeAll(async () => {
      await fixture.start();
    });
    afterAll(async () => {
      await fixture.stop();
    });

    const context: AreaContext = { fixture };
    describeWriteRead(context);
    describeNames(context);
    describeRanges(context);
    describeLargeFile(context);
    describeExistence(context);
    describeListing(context);
    describeMetadata(context);
    describeCopyMove(context);
    describeUrls(context);
    describeBadInput(context);
    describeConcurrency(context);
    describeOutage(context);
  });
}
