import { PushClient } from './client/PushClient';
import { PushError } from './protocol/errors';

// The CDN script sets the global `PushClient` to the class itself; the error class rides along on it.
(PushClient as unknown as { PushError: typeof PushError }).PushError = PushError;
export default PushClient;
