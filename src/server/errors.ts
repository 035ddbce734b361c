/** The message of whatever was thrown (an `Error`, a string), or `''`: the reason sent back to a client. */
export const messageOf = (err: unknown): string => (err instanceof Error ? err.message : typeof err === 'string' ? err : '');
