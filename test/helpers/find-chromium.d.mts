/** Declarations for find-chromium.mjs (plain JavaScript, shared with scripts/test.mjs). */
export declare const DEBIAN_CHROMIUM: string;
export declare const NO_BROWSER: string;
export declare function findChromium(env?: NodeJS.ProcessEnv, debian?: string): string | undefined;
export declare function noBrowserMessage(env?: NodeJS.ProcessEnv): string;
