/**
 * The program version. `scripts/build.ts` may replace it in the bundle; from source it reads as below.
 * @module
 */

/** Version string printed by `--version`, `-v` and `version`. */
export const VERSION = "0.1.0-dev";
