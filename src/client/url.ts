/** `given` as a URL (relative ones against the page's), or `undefined` when it is not one. */
export function parseUrl(given: unknown): URL | undefined {
  try {
    if (given && typeof given === 'string') return new URL(given, (globalThis as { location?: { href: string } }).location?.href);
  } catch {
    /* not a URL: the caller says which option */
  }
  return undefined;
}
