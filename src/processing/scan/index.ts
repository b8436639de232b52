/** Virus scanning through clamd (INSTREAM over TCP or a unix socket). */
export { createClamdScanner } from './clamd.js';
export type { ClamdScanner, ClamdScannerOptions, ClamdSocket, ScanOptions, ScanResult } from './types.js';
