/** `push.fetch` on `Bun.serve` (examples/hosts/bun.ts) in a child process, driven by the Node client: see ./helpers/host-suite.ts. */
import { hostSuite } from './helpers/host-suite';

hostSuite('bun');
