/** The core layer's public surface: errors, paths, config, signing, logging. */
export * from './errors.js';
export * from './paths.js';
export * from './signing.js';
export * from './config/schema.js';
export * from './config/size.js';
export * from './config/errors.js';
export * from './config/loader.js';
