import { isHello } from '../protocol';
import type { Feature } from './feature';

/**
 * The upgrade feature: while on a fallback (a transport after the first in `transports`), try the
 * better ones one by one every `upgradeInterval` ms; the first that says hello takes over, and the
 * events the old one delivered meanwhile are not delivered twice.
 */
export const upgrade: Feature = (internals) => {
  const { resume, options } = internals;
  let upgradeTimer: ReturnType<typeof setTimeout> | undefined;

  const probe = (index: number): void => {
    const current = internals.open;
    resume.watchProbe(false);
    if (!current) return;
    // Without a resume point the new transport cannot replay what the old one is still delivering.
    if (index >= internals.preferred || resume.get() === undefined) return void (upgradeTimer = setTimeout(probe, options.upgradeInterval, 0));
    resume.watchProbe(true);
    internals.attempt(
      index,
      (transport, first) => {
        if (!isHello(first) || current !== internals.open) return (transport.stop(), probe(internals.preferred));
        current.stop();
        internals.adopt(transport, index, true);
        internals.endOpen();
        internals.receiveFromTransport(first);
      },
      () => probe(index + 1),
    );
  };

  const stopProbing = () => {
    clearTimeout(upgradeTimer);
    resume.watchProbe(false);
  };

  internals.reprobe = () => {
    if (internals.open && internals.trying.size) internals.stopTrying(), probe(internals.preferred);
  };
  return {
    opened: (plain) => plain || (internals.preferred && options.upgradeInterval && probe(internals.preferred)),
    ended: stopProbing,
  };
};
