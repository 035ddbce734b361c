import { encodeEvent, HEARTBEAT } from '../protocol';

/** The heartbeat block never changes, so it is encoded once. */
export const HEARTBEAT_BLOCK = encodeEvent(HEARTBEAT, '');
