/**
 * The test's stand-in for the user's browser in SSO logins, and, run as a script, a one-shot driver that gets SSO
 * role credentials in its own process (for the concurrent-login test).
 *
 * Driver: `deno run -A sso_browser.ts <config file> <profile>` with `AWS_ENDPOINT_URL`, `SSO_TEST_VAULT_DIR`,
 * `AWS_VAULT_FILE_PASSPHRASE` and `XDG_RUNTIME_DIR` (the lock directory) set; prints `{"accessKeyId": …}`.
 * @module
 */

/** Opens `url` like a browser whose user approves: follows the redirect to the loopback callback, if any. */
export async function actAsBrowser(url: string): Promise<void> {
  const response = await fetch(url);
  await response.body?.cancel();
  if (!response.ok) throw new Error(`browser got HTTP ${response.status} for ${new URL(url).pathname}`);
}

if (import.meta.main) {
  const { parseConfigFile } = await import("../../src/config/config_file.ts");
  const { resolveProfile } = await import("../../src/config/profile.ts");
  const { SsoRoleCredentialsProvider } = await import("../../src/credentials/sso_provider.ts");
  const { FileKeyring } = await import("../../src/vault/file.ts");
  const [configPath, name] = Deno.args;
  const profile = resolveProfile(parseConfigFile(await Deno.readTextFile(configPath)), name, { env: Deno.env });
  const vault = new FileKeyring({ dir: Deno.env.get("SSO_TEST_VAULT_DIR"), env: Deno.env });
  const provider = new SsoRoleCredentialsProvider(profile, {
    vault,
    env: Deno.env,
    openUrl: actAsBrowser,
    write: () => {},
    now: () => new Date(),
  });
  const creds = await provider.retrieve();
  console.log(JSON.stringify({ accessKeyId: creds.accessKeyId }));
}
