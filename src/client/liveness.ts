import { LONGEST } from '../protocol';

/**
 * Dead-connection detection by the clock, not by a timer alone: after a frozen tab or a sleeping
 * laptop the timer fires late or never, but the first wake-up, visibility change or send calls
 * `alive()`, which sees the silence.
 */
export function createLiveness(
  /** `heartbeatTimeout`; `explicit` when the app gave it (then the server's interval does not change it). */
  configured: number,
  explicit: boolean,
  io: {
    /** Whether a connection that can go silent is being watched (our server's, open). */
    watching(): boolean;
    /** The transport is silent on purpose now (long-poll while the page is hidden). */
    silentOnPurpose(): boolean;
    /** Nothing was heard for `timeout` ms: the connection is dead. */
    dead(timeout: number): void;
  },
) {
  let lastHeard = 0;
  let timeout = configured;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const heard = () => {
    lastHeard = Date.now();
  };

  /** `false` (after calling `dead`) when the watched connection has been silent too long. */
  const alive = (): boolean => {
    if (!io.watching()) return true;
    if (io.silentOnPurpose()) heard();
    if (Date.now() - lastHeard <= timeout) return true;
    io.dead(timeout);
    return false;
  };

  const tick = () => {
    timer = setTimeout(() => alive() && tick(), timeout / 4);
  };

  return {
    heard,
    alive,
    start() {
      clearTimeout(timer);
      tick();
    },
    stop() {
      clearTimeout(timer);
    },
    /**
     * The server writes a heartbeat when it wrote nothing for `interval` ms: up to twice that passes
     * in silence. Capped where timers overflow (a longer one fires at once, again and again).
     */
    serverInterval(interval: number) {
      if (!explicit) timeout = Math.min(Math.max(configured, 2 * interval + 5000 || 0), LONGEST);
    },
  };
}
