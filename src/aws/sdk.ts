/**
 * The one place the AWS SDK is imported at run time. `src/aws/clients.ts` loads this module lazily, and
 * `scripts/build.ts` bundles it separately and embeds it in dist/aws-vault.js, so the SDK (and the Node built-ins
 * it pulls in, which a bundler would otherwise hoist to the top of the single file) costs nothing on runs that
 * never call AWS, such as a cached `credential_process`.
 * @module
 */

export * as iam from "@aws-sdk/client-iam";
export * as sso from "@aws-sdk/client-sso";
export * as ssoOidc from "@aws-sdk/client-sso-oidc";
export * as sts from "@aws-sdk/client-sts";
