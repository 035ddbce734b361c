/**
 * The few parts of Bun's and Deno's globals that the host examples use, so that they type-check with
 * the repository's TypeScript (the full types come with `bun-types` and with Deno itself).
 */

/** `Bun.serve`'s server, as far as the examples and `push.fetch` use it. */
interface BunServer {
  readonly port: number;
  stop(closeActiveConnections?: boolean): Promise<void>;
  requestIP(request: Request): { address: string } | null;
  upgrade(request: Request, options: { data: unknown }): boolean;
}

declare const Bun: {
  serve(options: { port?: number; hostname?: string; fetch(request: Request, server: BunServer): Response | Promise<Response>; websocket?: object }): BunServer;
};

/** What `Deno.serve` passes beside the request. */
interface DenoServeInfo {
  readonly remoteAddr: { hostname: string; port: number };
}

declare const Deno: {
  serve(
    options: { port?: number; hostname?: string; onListen?: (address: { port: number }) => void },
    handler: (request: Request, info: DenoServeInfo) => Response | Promise<Response>,
  ): { readonly addr: { port: number }; shutdown(): Promise<void> };
};

interface ImportMeta {
  /** Bun and Deno: true when this module is the program's entry. */
  readonly main?: boolean;
}
