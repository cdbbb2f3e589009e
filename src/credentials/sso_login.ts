/**
 * Getting an SSO-OIDC access token: the browser login with authorization code + PKCE on a loopback redirect (what
 * the AWS CLI does by default), the device-code flow as fallback and for `--stdout` (spec §3.5), and the
 * refresh-token grant that spares users the browser when the access token runs out.
 * @module
 */

import { callAws, describeAwsError } from "../aws/clients.ts";
import { createSsoOidcClient, oidcAuthorizeUrl } from "../aws/sso_clients.ts";
import { type EnvSource, toEnv } from "../config/config_file.ts";
import type { ProfileConfig } from "../config/profile_config.ts";
import { AppError } from "../errors.ts";
import { debug } from "../log.ts";
import type { OidcToken } from "../vault/oidc_keyring.ts";
import { CredentialsError } from "./provider.ts";

/** The OIDC client registration a token was issued to; refreshing the token needs it. */
export interface OidcClient {
  clientId: string;
  clientSecret: string;
  /** When the registration (and so any refresh through it) stops working. */
  expiresAt: Date;
}

/** A token plus the client that obtained it. */
export interface OidcLogin {
  token: OidcToken;
  client: OidcClient;
}

/** Options of the login functions. */
export interface SsoLoginOptions {
  /** The environment for endpoint settings (default `Deno.env`). */
  env?: EnvSource;
  /** `--stdout`: print the device authorization link instead of opening a browser. */
  useStdout?: boolean;
  /** Use the device-code flow even when a browser could be opened. */
  useDeviceCode?: boolean;
  /** Opens a URL in the user's browser (default {@link openInBrowser}); tests act as the browser here. */
  openUrl?: (url: string) => Promise<void>;
  /** Where the user-facing instructions go (default stderr). */
  write?: (text: string) => void;
  /** How long to wait for the user, in ms (default 10 minutes). */
  timeoutMs?: number;
  /** Waits between device-code polls, for tests. */
  sleep?: (ms: number) => Promise<void>;
}

/** Scope that makes SSO issue refresh tokens (the AWS CLI's default). */
const SCOPES = ["sso:account:access"];
const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
const CALLBACK_PATH = "/oauth/callback";
const DEFAULT_TIMEOUT_MS = 600_000;

const writeStderr = (text: string) => void Deno.stderr.writeSync(new TextEncoder().encode(text));
const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Opens `url` with the desktop's opener (`xdg-open`, `open`, `rundll32`); the URL carries no secret. */
export async function openInBrowser(url: string): Promise<void> {
  const [cmd, ...args] = Deno.build.os === "darwin"
    ? ["open", url]
    : Deno.build.os === "windows"
    ? ["rundll32", "url.dll,FileProtocolHandler", url]
    : ["xdg-open", url];
  const status = await new Deno.Command(cmd, { args, stdin: "null", stdout: "null", stderr: "null" }).spawn().status;
  if (!status.success) throw new Error(`${cmd} exited with status ${status.code}`);
}

async function tryOpen(url: string, options: SsoLoginOptions): Promise<void> {
  try {
    await (options.openUrl ?? openInBrowser)(url);
  } catch (e) {
    // The link is printed too, so the user can still open it by hand.
    debug(`Failed to open browser: ${e instanceof Error ? e.message : e}`);
  }
}

function base64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomToken(bytes = 32): string {
  return base64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

function fromCreateToken(out: {
  accessToken?: string;
  expiresIn?: number;
  idToken?: string;
  refreshToken?: string;
  tokenType?: string;
}): OidcToken {
  if (!out.accessToken) throw new Error("CreateToken returned no access token");
  return {
    accessToken: out.accessToken,
    expiresIn: out.expiresIn ?? 0,
    idToken: out.idToken ?? null,
    refreshToken: out.refreshToken ?? null,
    tokenType: out.tokenType ?? null,
  };
}

async function registerClient(profile: ProfileConfig, pkce: boolean, options: SsoLoginOptions): Promise<OidcClient> {
  const { client, sdk } = await createSsoOidcClient(profile, options);
  try {
    const out = await client.send(
      new sdk.RegisterClientCommand({
        clientName: "aws-vault",
        clientType: "public",
        scopes: SCOPES,
        grantTypes: pkce ? ["authorization_code", "refresh_token"] : [DEVICE_GRANT, "refresh_token"],
        ...(pkce ? { redirectUris: [`http://127.0.0.1${CALLBACK_PATH}`], issuerUrl: profile.ssoStartUrl } : {}),
      }),
    );
    if (!out.clientId || !out.clientSecret) throw new Error("RegisterClient returned no client");
    const expiresAt = new Date((out.clientSecretExpiresAt ?? 0) * 1000);
    return { clientId: out.clientId, clientSecret: out.clientSecret, expiresAt };
  } finally {
    client.destroy();
  }
}

/** A loopback HTTP server waiting for the authorization redirect; resolves with the code once `state` matches. */
function startCallbackServer(state: string, timeoutMs: number): { port: number; code: Promise<string> } & Disposable {
  let settle!: { resolve: (code: string) => void; reject: (e: Error) => void };
  const code = new Promise<string>((resolve, reject) => settle = { resolve, reject });
  const page = (text: string, status = 200) =>
    new Response(`<!doctype html><title>aws-vault</title><p>${text}</p>`, {
      status,
      headers: { "content-type": "text/html; charset=utf-8" },
    });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    const url = new URL(request.url);
    if (url.pathname !== CALLBACK_PATH) return page("Not found", 404);
    // Another page could redirect the browser here; only the request carrying our state is the real answer.
    if (url.searchParams.get("state") !== state) return page("Invalid state; this login was not started here.", 400);
    const error = url.searchParams.get("error");
    const value = url.searchParams.get("code");
    if (error || !value) {
      settle.reject(new Error(`authorization denied: ${error ?? "no code"}`));
      return page("Authorization failed. You can close this window.");
    }
    settle.resolve(value);
    return page("aws-vault is authorized. You can close this window.");
  });
  const timer = setTimeout(() => settle.reject(new Error("timed out waiting for the browser login")), timeoutMs);
  return {
    port: server.addr.port,
    code,
    [Symbol.dispose]: () => {
      clearTimeout(timer);
      server.shutdown().catch(() => {});
    },
  };
}

/** The browser login: authorization code with PKCE (S256), received on a 127.0.0.1 redirect. */
async function loginWithBrowser(profile: ProfileConfig, options: SsoLoginOptions): Promise<OidcLogin> {
  const oidcClient = await registerClient(profile, true, options);
  const state = randomToken();
  const verifier = randomToken(48);
  const challenge = base64Url(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))),
  );
  using callback = startCallbackServer(state, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const redirectUri = `http://127.0.0.1:${callback.port}${CALLBACK_PATH}`;
  const url = oidcAuthorizeUrl(profile, options);
  for (
    const [k, v] of Object.entries({
      response_type: "code",
      client_id: oidcClient.clientId,
      redirect_uri: redirectUri,
      state,
      code_challenge_method: "S256",
      scopes: SCOPES.join(" "),
      code_challenge: challenge,
    })
  ) url.searchParams.set(k, v);
  const write = options.write ?? writeStderr;
  write(`Opening the SSO authorization page in your default browser (use Ctrl-C to abort)\n${url.href}\n`);
  await tryOpen(url.href, options);
  const code = await callback.code;
  const { client, sdk } = await createSsoOidcClient(profile, options);
  try {
    const out = await client.send(
      new sdk.CreateTokenCommand({
        clientId: oidcClient.clientId,
        clientSecret: oidcClient.clientSecret,
        grantType: "authorization_code",
        code,
        codeVerifier: verifier,
        redirectUri,
      }),
    );
    return { token: fromCreateToken(out), client: oidcClient };
  } finally {
    client.destroy();
  }
}

/** The device-code flow (spec §3.5): print or open the verification link, then poll CreateToken. */
async function loginWithDeviceCode(profile: ProfileConfig, options: SsoLoginOptions): Promise<OidcLogin> {
  const oidcClient = await registerClient(profile, false, options);
  const { client, sdk } = await createSsoOidcClient(profile, options);
  try {
    const auth = await client.send(
      new sdk.StartDeviceAuthorizationCommand({
        clientId: oidcClient.clientId,
        clientSecret: oidcClient.clientSecret,
        startUrl: profile.ssoStartUrl,
      }),
    );
    const link = auth.verificationUriComplete ?? auth.verificationUri ?? "";
    const write = options.write ?? writeStderr;
    if (options.useStdout) {
      write(`Open the SSO authorization page in a browser (use Ctrl-C to abort)\n${link}\n`);
    } else {
      write(`Opening the SSO authorization page in your default browser (use Ctrl-C to abort)\n${link}\n`);
      await tryOpen(link, options);
    }
    let interval = (auth.interval || 5) * 1000;
    const deadline = Date.now() + Math.min((auth.expiresIn ?? 600) * 1000, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    while (Date.now() < deadline) {
      try {
        const out = await client.send(
          new sdk.CreateTokenCommand({
            clientId: oidcClient.clientId,
            clientSecret: oidcClient.clientSecret,
            grantType: DEVICE_GRANT,
            deviceCode: auth.deviceCode,
          }),
        );
        return { token: fromCreateToken(out), client: oidcClient };
      } catch (e) {
        const name = e instanceof Error ? e.name : "";
        if (name === "SlowDownException") interval += 5000;
        else if (name !== "AuthorizationPendingException") throw e;
      }
      await (options.sleep ?? delay)(interval);
    }
    throw new Error("timed out waiting for the device authorization");
  } finally {
    client.destroy();
  }
}

/**
 * Logs in to the profile's SSO start URL: the browser login with PKCE unless `--stdout` or `useDeviceCode` asks
 * for the device-code flow, which is also the fallback when the browser login cannot be set up.
 * @throws CredentialsError naming the profile and the failed step, never a token
 */
export async function ssoLogin(profile: ProfileConfig, options: SsoLoginOptions = {}): Promise<OidcLogin> {
  const name = profile.profileName;
  if (!options.useStdout && !options.useDeviceCode) {
    let started = false;
    try {
      return await loginWithBrowser(profile, {
        ...options,
        write: (text) => {
          started = true;
          (options.write ?? writeStderr)(text);
        },
      });
    } catch (e) {
      // Once the user was sent to the browser, a second prompt would only confuse: report the failure.
      if (started) throw new CredentialsError(name, describeAwsError(e), { operation: "sso-oidc:login", cause: e });
      debug(`Browser login unavailable (${describeAwsError(e)}), using the device code flow`);
    }
  }
  return await callAws(name, "sso-oidc:login", () => loginWithDeviceCode(profile, options));
}

/**
 * Exchanges a refresh token for a new access token through the client that obtained it.
 * @throws CredentialsError when the refresh token or client is no longer accepted
 */
export async function refreshOidcToken(
  profile: ProfileConfig,
  login: { client: OidcClient; refreshToken: string },
  options: Pick<SsoLoginOptions, "env"> = {},
): Promise<OidcLogin> {
  return await callAws(profile.profileName, "sso-oidc:CreateToken", async () => {
    const { client, sdk } = await createSsoOidcClient(profile, options);
    try {
      const out = await client.send(
        new sdk.CreateTokenCommand({
          clientId: login.client.clientId,
          clientSecret: login.client.clientSecret,
          grantType: "refresh_token",
          refreshToken: login.refreshToken,
        }),
      );
      const token = fromCreateToken(out);
      // Services that do not rotate refresh tokens omit it; the old one stays valid.
      return { token: { ...token, refreshToken: token.refreshToken ?? login.refreshToken }, client: login.client };
    } finally {
      client.destroy();
    }
  });
}

/** Waiting for another process's SSO login took too long. */
export class SsoLoginLockError extends AppError {}

/** Options of {@link withLoginLock}. */
export interface LoginLockOptions {
  /** Directory of the lock file (default `$XDG_RUNTIME_DIR`, else the temp directory). */
  dir?: string;
  /** The environment for the default directory (default `Deno.env`). */
  env?: EnvSource;
  /** How long to wait for another process's login, in ms (default 11 minutes: a login times out after 10). */
  waitMs?: number;
}

/** A lock whose holder stopped refreshing it for this long is stale (the holder refreshes it every 5 s). */
const LOCK_STALE_MS = 30_000;
const LOCK_HEARTBEAT_MS = 5_000;

async function lockPath(name: string, options: LoginLockOptions): Promise<string> {
  const env = toEnv(options.env);
  const dir = options.dir || env.get("XDG_RUNTIME_DIR") || env.get("TMPDIR") || env.get("TEMP") ||
    (Deno.build.os === "windows" ? "." : "/tmp");
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(name)));
  const hex = [...digest.subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
  // Per user: in a shared /tmp another user's lock could neither be waited out nor removed.
  return `${dir}/aws-vault-sso-${Deno.uid() ?? "u"}-${hex}.lock`;
}

/** Whether a lock file was left behind: its holder is gone (Linux) or stopped refreshing it. */
async function isStale(path: string, content: string): Promise<boolean> {
  const pid = Number(content.split(" ")[0]);
  if (Deno.build.os === "linux" && pid > 0 && pid !== Deno.pid) {
    try {
      await Deno.stat(`/proc/${pid}`);
    } catch {
      return true;
    }
  }
  const mtime = (await Deno.stat(path)).mtime?.getTime() ?? 0;
  return Date.now() - mtime > LOCK_STALE_MS;
}

/**
 * Runs `fn` while holding a cross-process lock named after `name` (an SSO start URL), so that concurrent processes
 * needing the same login open one browser tab: the others wait, then find the fresh token in the vault.
 * The lock is a file created with O_EXCL holding `<pid> <nonce>`; a holder that died or stopped refreshing it for
 * 30 s is taken over. Waiting is bounded; a lock that cannot be created at all (read-only dir) is skipped.
 */
export async function withLoginLock<T>(name: string, fn: () => Promise<T>, options: LoginLockOptions = {}): Promise<T> {
  const path = await lockPath(name, options);
  const content = `${Deno.pid} ${randomToken(9)}`;
  const deadline = Date.now() + (options.waitMs ?? DEFAULT_TIMEOUT_MS + 60_000);
  for (let announced = false;;) {
    try {
      await Deno.writeTextFile(path, content, { createNew: true, mode: 0o600 });
      break;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) {
        debug(`Cannot create the SSO login lock ${path} (${e instanceof Error ? e.message : e}), going without`);
        return await fn();
      }
    }
    const held = await Deno.readTextFile(path).catch(() => "");
    // Re-read right before removing, so a lock another waiter just took over is not removed too.
    if (
      held && await isStale(path, held).catch(() => false) && await Deno.readTextFile(path).catch(() => "") === held
    ) {
      debug(`Removing stale SSO login lock ${path}`);
      await Deno.remove(path).catch(() => {});
      continue;
    }
    if (Date.now() > deadline) {
      throw new SsoLoginLockError(`another aws-vault process is still logging in to ${name} (lock file ${path})`);
    }
    if (!announced) debug(`Waiting for another aws-vault process to finish the SSO login for '${name}'`);
    announced = true;
    await delay(100 + Math.random() * 100);
  }
  const heartbeat = setInterval(() => Deno.utime(path, new Date(), new Date()).catch(() => {}), LOCK_HEARTBEAT_MS);
  try {
    return await fn();
  } finally {
    clearInterval(heartbeat);
    if (await Deno.readTextFile(path).catch(() => "") === content) await Deno.remove(path).catch(() => {});
  }
}
