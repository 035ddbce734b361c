import type { Hello, PushError, SseEvent } from '../protocol';
import type { Transport, TransportDefinition } from '../transports/transport';
import type { Lifecycle, Status } from './state';
import type { Resolved } from './options';
import type { PushClient } from './push-client';
import type { ResumePoint } from './resume';

/**
 * What a feature sees of the client it is part of: the connection's state, and the steps it may
 * take. The client fills it in; a feature reads it and may set the members marked as its own.
 */
export interface ClientInternals {
  /** The client itself, for the methods and getters a feature adds to it. */
  readonly client: PushClient<any, any>;
  readonly options: Resolved;
  readonly resume: ResumePoint;
  /** The transports each connect pass tries, in order (tab sharing replaces them). */
  transports: TransportDefinition[];
  /** Index in `transports` of the one that worked last: each pass starts there. */
  preferred: number;
  /** The open transport, and whether its peer is a plain server (`undefined` until its first message). */
  readonly open?: Transport;
  readonly plain?: boolean;
  /** The open transport's name as shown in `status` and `meta`. */
  readonly openName?: string;
  /** Transports being tried (connect attempts and upgrade probes). */
  readonly trying: ReadonlyMap<Transport, unknown>;
  status(): Status;
  notify<K extends keyof Lifecycle>(name: K, value: Lifecycle[K]): void;
  report(e: PushError): void;
  /** Opens transport number `index` for one attempt: `opened` with its first message, or `failed`. */
  attempt(index: number, opened: (transport: Transport, first: SseEvent) => void, failed: (e: PushError) => void): void;
  /** `transport` is the open one from now on (`upgraded`: it replaces one that was still open). */
  adopt(transport: Transport, index: number, upgraded: boolean): void;
  /** Ends what belongs to the open connection: liveness, and {@link ClientInternals.stopTrying}. */
  endOpen(): void;
  /** Stops the transports being tried (connect attempts, upgrade probes), then each feature's `ended`. */
  stopTrying(): void;
  /** Takes what the open transport delivered. */
  receiveFromTransport(e: SseEvent): void;
  /** Takes an event as if the open connection had delivered it (tab sharing's relayed events). */
  receive(e: SseEvent): void;
  /** Drops the open connection with `e`, then reconnects (or stops, if `e` is fatal). */
  drop(e: PushError): void;
  /** While waiting out a backoff, connects now. */
  reconnectNow(): void;
  /** Starts a fresh connect pass at once, if one had begun (tab sharing changed the transports). */
  restart(): void;
  /** Checks the heartbeat by the clock: time may have jumped. */
  alive(): void;
  /** Sends a control message (a join or leave) over the connection; tab sharing may answer it itself. */
  control(text: string): void;
  /** Extra members of `status` (tab sharing's `share`); `refreshStatus` publishes a change. */
  statusExtra?: Partial<Status>;
  refreshStatus(): void;
  /** Settles once each connect pass may begin (tab sharing: once this tab knows whether it leads). */
  ready?: Promise<unknown>;
  /** Set by the upgrade feature: the channel set changed, so a probe on its way asks again. */
  reprobe?: () => void;
}

/**
 * What a feature does at each step of the client's life; every member is optional. They are called
 * in the order the features were given.
 */
export interface FeatureHooks {
  /** `connect()` began (before the first pass). */
  connecting?(): void;
  /** The query of one attempt: a feature adds its parameters. */
  params?(params: URLSearchParams): void;
  /** A push-client server's hello. */
  hello?(hello: Hello): void;
  /** A control message other than hello and heartbeat: `true` when the feature took it. */
  control?(event: string, data: any): boolean | undefined;
  /** The peer turned out to be a plain server. */
  plain?(): void;
  /** The connection opened (its hello read, or a plain server's first event). */
  opened?(plain: boolean | undefined): void;
  /** An event of `channel` arrived: `false` drops it (not held by this tab). */
  accepts?(channel: string): boolean;
  /** Every event the open transport delivers, before the client reads it. */
  relay?(e: SseEvent): void;
  /** The transports being tried were stopped: the open connection ended or was replaced, the client closed, or the channels changed. */
  ended?(): void;
  /** The client closed; `error` is what pending requests reject with. */
  stopped?(error: PushError): void;
}

/**
 * One thing the client can do beyond connecting, sending and receiving, passed as a value in the
 * `features` option of `push-client/core` (as transports are): what an app does not pass is not in
 * its bundle. `push-client` passes them all.
 */
export type Feature = (client: ClientInternals) => FeatureHooks;
