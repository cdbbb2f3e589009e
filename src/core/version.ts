/**
 * The program version. `scripts/build.ts` may replace it in the bundle; from source it reads as below.
 * @module
 */

/** The version (semver; `scripts/build.ts` adds the commit). `--version` shows {@link VERSION_TEXT}. */
export const VERSION = "0.1.0-dev";

/**
 * The version as `--version` and `version` print it: with a leading `v`, as the Go aws-vault prints its tag
 * (`v7.2.0`), so scripts that check it keep working.
 */
export const VERSION_TEXT = `v${VERSION}`;
