/**
 * Fixed addresses of the credential servers, in a module of their own so the command table can name them without
 * loading a server.
 * @module
 */

/** The address AWS SDKs query for `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`. */
export const ECS_CONTAINER_ADDRESS = "169.254.170.2";

/** Default `--listen` of `container-proxy`. */
export const DEFAULT_CONTAINER_PROXY_LISTEN = `${ECS_CONTAINER_ADDRESS}:80`;
