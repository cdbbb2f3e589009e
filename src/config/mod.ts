/**
 * The AWS config file and profile resolution: one import for commands and providers.
 * @module
 */

export * from "./config_file.ts";
export * from "./config_write.ts";
export * from "./endpoints.ts";
export * from "./ini.ts";
export * from "./profile.ts";
export * from "./suggest.ts";
