/** `push.fetch` on `Deno.serve` (examples/hosts/deno.ts) in a child process, driven by the Node client: see ./helpers/host-suite.ts. */
import { hostSuite } from './helpers/host-suite';

hostSuite('deno');
