// Types for keycache-locate.mjs (plain JavaScript, shared with the launchers).
export declare const DEFAULT_TTL_SECONDS: number;
export declare const MAX_TTL_SECONDS: number;
export declare function keyCacheTtl(env?: NodeJS.ProcessEnv): number;
export declare function keyCacheDir(env?: NodeJS.ProcessEnv): string;
export declare function keyCacheEntry(dataDir: string, env?: NodeJS.ProcessEnv): string;
