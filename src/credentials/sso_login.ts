/**
 * Getting an SSO-OIDC access token: the browser login with authorization code + PKCE on a loopback redirect (what
 * the AWS CLI does by default), the device-code flow as fallback and for `--stdout` (docs/behaviour.md#sso), and the
 * refresh-token grant that spares users the browser when the access token runs out.
 * @module
 */

import { callAws, describeAwsError } from "../aws/clients.ts";
import { createSsoOidcClient, oidcAuthorizeUrl } from "../aws/sso_clients.ts";
import type { Env } from "../core/env.ts";
import type { ProfileConfig } from "../config/profile_config.ts";
import { type Logger, SILENT } from "../core/log.ts";
import type { OidcToken } from "../vault/oidc_keyring.ts";
import { CredentialsError } from "../core/errors.ts";
import { openBrowser } from "../os/browser.ts";

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
  /** The environment for endpoint settings . */
  env: Env;
  /** `--stdout`: print the device authorization link instead of opening a browser. */
  useStdout?: boolean;
  /** Use the device-code flow even when a browser could be opened. */
  useDeviceCode?: boolean;
  /** Opens a URL in the user's browser (default: the platform opener, `os/browser.ts`); tests act as the browser here.
   */
  openUrl?: (url: string) => Promise<void>;
  /** Where the user-facing instructions go (default stderr). */
  write?: (text: string) => void;
  /** How long to wait for the user, in ms (default 10 minutes). */
  timeoutMs?: number;
  /** Waits between device-code polls, for tests. */
  sleep?: (ms: number) => Promise<void>;
  /** Debug lines; silent when not given. */
  log?: Logger;
}

/** Scope that makes SSO issue refresh tokens (the AWS CLI's default). */
const SCOPES = ["sso:account:access"];
const DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
const CALLBACK_PATH = "/oauth/callback";
/** Keep `DEFAULT_WAIT_MS` in `sso_lock.ts` above this, so a waiter outlasts the login it waits for. */
const DEFAULT_TIMEOUT_MS = 600_000;

const writeStderr = (text: string) => void Deno.stderr.writeSync(new TextEncoder().encode(text));
const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function tryOpen(url: string, options: SsoLoginOptions): Promise<void> {
  try {
    await (options.openUrl ??
      ((u: string) => openBrowser(u, { what: "the SSO authorization page", env: options.env })))(url);
  } catch (e) {
    // The link is printed too, so the user can still open it by hand.
    (options.log ?? SILENT).debug(`Failed to open browser: ${e instanceof Error ? e.message : e}`);
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

/** The device-code flow (docs/behaviour.md#sso): print or open the verification link, then poll CreateToken. */
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
export async function ssoLogin(profile: ProfileConfig, options: SsoLoginOptions): Promise<OidcLogin> {
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
      (options.log ?? SILENT).debug(`Browser login unavailable (${describeAwsError(e)}), using the device code flow`);
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
  options: Pick<SsoLoginOptions, "env" | "log">,
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
