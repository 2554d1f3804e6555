// Types for sources.mjs (plain JavaScript, shared with build.mjs and the launchers).
export declare const SOURCE_DIRS: string[];
export declare function newestSourceMtime(skill: string): number;
export declare function bundlesFresh(skill: string, distFiles: string[]): boolean;
