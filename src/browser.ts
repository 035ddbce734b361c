import { PushClient } from './client/named-transports';
import { PushError } from './protocol/errors';
import { FetchEventSource } from './transports/fetch-event-source';

// The CDN script sets the global `PushClient` to the class itself. A script tag cannot import the
// opt-ins, so they ride along on it: `PushClient.PushError`, `PushClient.FetchEventSource`.
Object.assign(PushClient, { PushError, FetchEventSource });
export default PushClient;
