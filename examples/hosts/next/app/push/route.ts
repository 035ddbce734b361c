/**
 * A Next.js App Router route handler (app/push/route.ts) serving push-client's SSE, long-poll and
 * sends with `push.fetch`. Route handlers cannot take a WebSocket upgrade: clients fall back to SSE
 * by themselves, or list `transports: ['eventsource', 'longpoll']` to skip the attempt.
 */
import { push } from '../../lib/push';

/** `push-client/server` uses Node modules (node:crypto, node:events), so not the Edge runtime. */
export const runtime = 'nodejs';
/** Every request is live: never cached or prerendered. */
export const dynamic = 'force-dynamic';

export const GET = (request: Request): Promise<Response> => push.fetch(request);
export const POST = GET;
export const DELETE = GET;
/** CORS preflights, when `allowOrigins` lets other origins in. */
export const OPTIONS = GET;
