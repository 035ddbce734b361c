/**
 * The longest delay a timer accepts, in ms (2^31 − 1): a longer one fires at once in browsers and in
 * Node. Shared by the client's and the server's option checks, so both refuse the same values.
 */
export const LONGEST = 2 ** 31 - 1;
