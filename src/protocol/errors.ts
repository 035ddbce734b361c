/** Stable codes of every error push-client reports; see the README's error table. */
export type PushErrorCode =
  | 'BAD_OPTION' // an option or the URL is invalid (thrown at construction)
  | 'BAD_FRAME' // the peer sent something that is not valid in the wire format
  | 'TOO_LARGE' // a message or line exceeds `maxMessageSize`
  | 'TRANSPORT_FAILED' // a transport could not open, or closed
  | 'UNAUTHORIZED' // 401/403 on an HTTP request: fatal, not retried
  | 'MAX_RETRIES' // `reconnect.maxRetries` reached
  | 'QUEUE_FULL' // `maxQueued` sends are already waiting
  | 'SEND_FAILED' // a send could not be delivered
  | 'SEND_UNSUPPORTED' // the peer has no way to receive sends (a plain SSE server)
  | 'JOIN_REFUSED' // the server refused `join(channel)`
  | 'CLOSED' // the client was closed while the operation was pending
  | 'HANDLER_ERROR'; // an application handler threw (delivery goes on)

/** The one error class push-client throws or reports. `code` is stable; `message` is for people. */
export class PushError extends Error {
  /** HTTP status behind the error, when there was one. */
  declare status?: number;
  /** Delay the server asked for (`Retry-After`), in ms. */
  declare retryAfter?: number;

  constructor(
    readonly code: PushErrorCode,
    message: string,
    options?: { cause?: unknown; status?: number; retryAfter?: number },
  ) {
    super(message);
    this.name = 'PushError';
    if (options) {
      if (options.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
      this.status = options.status;
      this.retryAfter = options.retryAfter;
    }
  }
}
