import { describeConformance } from '../conformance/index.js';
import { encryptedS3Fixture } from './support/encrypted-fixtures.js';

// The conformance suite on encrypted(s3) over s3rver: a file of its own, so each file stays short.
describeConformance(encryptedS3Fixture());
