/** `push.fetch` on Bun in real Chromium, every transport: see ./fixtures/fetch-hosts.ts. */
import { childHost, hostTests } from './fixtures/fetch-hosts';

hostTests('Bun', (script) => childHost('bun', script));
