/** What the registry passes to every driver factory besides its disk config. */
export interface DriverContext {
  /** The disk's name in config, for messages. */
  diskName: string;
  /** Secret for HMAC-signed temporary URLs (drivers without native presigning). */
  signingKey?: string;
}
