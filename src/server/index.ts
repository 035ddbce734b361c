/**
 * `push-client/server`: the Node side of push-client. One path serves WebSocket, Server-Sent Events
 * and long-poll clients with the same event stream, channels, targeted sends and resume by
 * last-event-id.
 *
 * @packageDocumentation
 */
export { createPushServer } from './push-server';
export { memoryBackplane, type MemoryBackplaneOptions } from './memory-backplane';
export { redisBackplane, type RedisBackplaneOptions, type RedisClientLike } from './redis-backplane';
export type { Backplane, BackplaneEntry } from './backplane';
export type { AllowOrigins } from './origins';
export type { BunServerWebSocket, BunWebSocketHandlers } from './fetch-websocket';
export { requestHeader } from './fetch-exchange';
export type {
  Connection,
  FetchHost,
  MessageListener,
  PublishOptions,
  PushServer,
  PushRequest,
  PushServerOptions,
  TransportName,
} from './types';
export { PushError, type PushErrorCode } from '../protocol';
