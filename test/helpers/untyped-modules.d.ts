/** Types for the EventSources the SSE tests plug in that ship none (only what the tests use). */
declare module 'event-source-polyfill' {
  /** Reads `headers` from its init object; resumes with a `lastEventId` query parameter. */
  export const EventSourcePolyfill: new (
    url: string,
    init?: { headers?: Record<string, string>; withCredentials?: boolean; heartbeatTimeout?: number },
  ) => EventSource;
}
declare module 'eventsource-v2' {
  /** eventsource 2.x: `headers` in its init object. */
  const EventSource: new (url: string, init?: { headers?: Record<string, string>; withCredentials?: boolean }) => EventSource;
  export default EventSource;
}
