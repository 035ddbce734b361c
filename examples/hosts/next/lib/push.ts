/**
 * The app's one push server, for a Next.js App Router app (examples/hosts/next/app/push/route.ts
 * serves it; any server code publishes with `push.publish`). It lives on `globalThis` because
 * Next.js may evaluate a module more than once in one process (dev reloads, separate route
 * bundles): a second push server would split the connections and run timers of its own.
 */
import { createPushServer, type PushServer } from '../../../../src/server'; // 'push-client/server' in an app

const holder = globalThis as typeof globalThis & { pushServer?: PushServer };

export const push: PushServer = (holder.pushServer ??= createPushServer({ path: '/push' }));
