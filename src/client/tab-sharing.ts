import { PushError } from '../protocol';
import type { Feature } from './feature';
import type { ShareSeam } from './share';

/**
 * The tab sharing feature (the `share` option): the hooks that let the tabs of one origin share one
 * connection. What sharing does (leading, following, relaying) is loaded with `import()` only when
 * `share` is on, in a browser with Web Locks and `BroadcastChannel`; elsewhere this does nothing.
 */
export const tabSharing: Feature = (internals) => {
  const { options } = internals;
  const name =
    options.share && typeof navigator === 'object' && navigator.locks && typeof BroadcastChannel === 'function'
      ? 'push-client:' + (options.share === true ? JSON.stringify(options.urls) : options.share)
      : undefined;
  let seam: ShareSeam | undefined;
  let leaveGroup: (() => void) | undefined;
  const sendControl = internals.control;
  // A join or leave of this tab's: sharing answers it itself where another tab holds the channel.
  internals.control = (text) => void (seam?.control?.(text) || sendControl(text));

  const joinGroup = (group: string) => {
    // The leader may be a background tab: it must not pause long-polling for the group.
    options.pollWhenHidden = true;
    let decided: () => void;
    const ready = (internals.ready = new Promise<void>((resolve) => (decided = resolve)));
    seam = {
      name: group,
      client: internals.client,
      use(list = options.transports) {
        // A follower's transport has no URL of its own: it carries the resume point and channels in the first one's.
        for (const transport of list) options.urls[transport.name] ??= options.urls[options.transports[0].name];
        internals.transports = list;
        internals.preferred = 0;
        decided();
        internals.restart();
      },
      reconnectNow: internals.reconnectNow,
      transmit: (text) => (internals.open ? internals.open.send(text) : Promise.reject(new PushError('SEND_FAILED', 'not connected'))),
      inject: internals.receive,
      setShare(share) {
        internals.statusExtra = { share };
        internals.refreshStatus();
      },
    };
    import('./share').then(({ joinGroup }) => {
      if (internals.ready === ready && internals.status().state !== 'closed') leaveGroup = joinGroup(seam!);
    });
  };

  return {
    connecting: () => name && joinGroup(name),
    params(params) {
      const joined = params.getAll('ch');
      for (const channel of seam?.otherChannels?.() || []) if (!joined.includes(channel)) params.append('ch', channel);
    },
    relay: (e) => seam?.relay?.(e),
    stopped() {
      leaveGroup?.();
      leaveGroup = internals.ready = undefined;
    },
  };
};
