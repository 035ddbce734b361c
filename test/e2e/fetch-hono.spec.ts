/** `push.fetch` on Hono on Node in real Chromium, every transport: see ./fixtures/fetch-hosts.ts. */
import { honoHost, hostTests } from './fixtures/fetch-hosts';

hostTests('Hono on Node', honoHost);
