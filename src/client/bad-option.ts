import { PushError } from '../protocol';

/** Throws a `BAD_OPTION` naming the option. */
export const badOption = (name: string, why: string): never => {
  throw new PushError('BAD_OPTION', `push-client: option "${name}" ${why}`);
};
