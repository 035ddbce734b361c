/** `push.fetch` on Deno in real Chromium, every transport: see ./fixtures/fetch-hosts.ts. */
import { childHost, hostTests } from './fixtures/fetch-hosts';

hostTests('Deno', (script) => childHost('deno', script));
