/** File type sniffing (file-type) and upload rules: size, allowed extensions, extension agreeing with content. */
export { sniffFile, sniffStream, type SniffResult } from './sniff.js';
export { checkExtension, type ExtensionCheck } from './check.js';
export { checkUploadRules, type UploadCandidate, type UploadRule, type UploadRuleResult, type UploadRules } from './rules.js';
export { canonicalExtension, extensionOf, extensionsAgree } from './extensions.js';
