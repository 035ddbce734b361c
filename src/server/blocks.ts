import { encodeBatchLine, encodeEvent, HEARTBEAT } from '../protocol';

/** The heartbeat block never changes, so it is encoded once. */
export const HEARTBEAT_BLOCK = encodeEvent(HEARTBEAT, '');

/**
 * An event as its block and, when it fits one, its line of an SSE batch: every event a connection
 * is pushed goes as both, so that each transport takes the one it writes.
 */
export function blockAndLine(event: string, data: string, id?: string, channel?: string): [block: string, line: string | undefined] {
  return [encodeEvent(event, data, id, channel), encodeBatchLine(event, data, id, channel)];
}
