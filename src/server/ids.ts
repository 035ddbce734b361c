import { randomBytes } from 'node:crypto';

/**
 * Connection ids double as the credential for long-poll and HTTP sends (`?cid=`), so they must be
 * unguessable: 128 random bits.
 */
export const newConnectionId = (): string => randomBytes(16).toString('base64url');

/** A short random base-36 token (48 bits): epochs need uniqueness, not secrecy. */
export const newEpoch = (): string => randomBytes(6).readUIntBE(0, 6).toString(36);
