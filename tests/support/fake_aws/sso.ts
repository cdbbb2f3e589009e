/**
 * The IAM Identity Center APIs over their real JSON REST wire format: SSO-OIDC (`POST /client/register`,
 * `/device_authorization`, `/token` with the device-code, authorization-code + PKCE and refresh-token grants) and
 * the SSO portal (`GET /federation/credentials`, `/assignment/accounts`, `/assignment/roles`). Two pages stand in for
 * the user's browser: `GET /authorize` redirects to the client's loopback `redirect_uri` with a code, and
 * `GET /device?user_code=…` approves a device authorization, both only while the test's user "approves".
 *
 * Tests steer it with {@link ssoFake}: `ssoFake(fake).assign("123456789012", "Admin")`, `.revokeTokens()`, ….
 * Role credentials are issued by the fake's STS state, so STS accepts them (GetCallerIdentity works).
 * @module
 */

import { AwsError } from "./errors.ts";
import type { Dispatch, IncomingRequest, Protocol, Reply } from "./protocol.ts";
import { randomChars, randomId } from "./state.ts";
import type { FakeState } from "./state.ts";
import type { FakeService } from "./types.ts";

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** What the fake SSO remembers, per fake endpoint. */
class SsoWorld {
  /** The "user" approves authorization pages (authorize redirects, device verification). */
  userApproves = true;
  /** Seconds an access token lives. */
  accessTokenTtl = 8 * 3600;
  /** `interval` announced by StartDeviceAuthorization. */
  deviceInterval = 1;
  /** The next n device-code polls answer slow_down (before pending/approval is looked at). */
  slowDowns = 0;
  readonly assignments = new Map<string, Set<string>>();
  /** Account names for ListAccounts (default: the id). */
  readonly accountNames = new Map<string, string>();
  /** Most items per ListAccounts / ListAccountRoles page, whatever maxResults asks. */
  pageSize = 20;
  /** Opaque nextToken → the offset it continues at. */
  readonly pageTokens = new Map<string, number>();
  readonly clients = new Map<string, { secret: string; grantTypes: string[] }>();
  readonly devices = new Map<string, { clientId: string; userCode: string; approved: boolean; startUrl: string }>();
  readonly codes = new Map<string, { clientId: string; redirectUri: string; challenge: string }>();
  readonly accessTokens = new Map<string, Date>();
  readonly refreshTokens = new Map<string, string>();
}

const worlds = new Map<string, SsoWorld>();
const worldFor = (host: string) => worlds.get(host) ?? worlds.set(host, new SsoWorld()).get(host)!;

/** Test controls of one fake endpoint's SSO side. */
export interface SsoFake {
  /** Gives the SSO user `roleName` in `accountId` (GetRoleCredentials of anything else is ForbiddenException). */
  assign(accountId: string, roleName: string): void;
  /** Takes `roleName` in `accountId` away again, or every role of the account (it then leaves ListAccounts). */
  unassign(accountId: string, roleName?: string): void;
  /** The account's name in ListAccounts (default: its id). */
  setAccountName(accountId: string, name: string): void;
  /** Most items per ListAccounts / ListAccountRoles page (default 20), so tests can force pagination. */
  setPageSize(size: number): void;
  /** Whether the user approves the authorize/device pages (default true); false leaves the login pending. */
  setUserApproves(approves: boolean): void;
  /** Lifetime of new access tokens in seconds (default 8h). */
  setAccessTokenTtl(seconds: number): void;
  /** Device polling: the announced interval (default 1 s) and how many polls answer slow_down first. */
  setDevicePolling(options: { interval?: number; slowDowns?: number }): void;
  /** Invalidates every access token (GetRoleCredentials then answers 401), and the refresh tokens unless kept. */
  revokeTokens(options?: { keepRefreshTokens?: boolean }): void;
  /** Approves a pending device authorization by its user code, as the user would on the verification page. */
  approveDevice(userCode: string): void;
}

/**
 * The SSO controls of `fake`. Call it once per fake, right after starting it: it starts a fresh SSO state (a port
 * reused from an earlier fake must not inherit that one's tokens).
 */
export function ssoFake(fake: { readonly url: string }): SsoFake {
  const world = new SsoWorld();
  worlds.set(new URL(fake.url).host, world);
  return {
    assign: (accountId, roleName) => {
      const roles = world.assignments.get(accountId) ?? new Set();
      world.assignments.set(accountId, roles.add(roleName));
    },
    unassign: (accountId, roleName) => {
      const roles = world.assignments.get(accountId);
      if (roleName !== undefined) roles?.delete(roleName);
      if (roleName === undefined || roles?.size === 0) world.assignments.delete(accountId);
    },
    setAccountName: (accountId, name) => void world.accountNames.set(accountId, name),
    setPageSize: (size) => void (world.pageSize = size),
    setUserApproves: (approves) => void (world.userApproves = approves),
    setAccessTokenTtl: (seconds) => void (world.accessTokenTtl = seconds),
    setDevicePolling: (options) => {
      world.deviceInterval = options.interval ?? world.deviceInterval;
      world.slowDowns = options.slowDowns ?? world.slowDowns;
    },
    revokeTokens: (options) => {
      world.accessTokens.clear();
      if (!options?.keepRefreshTokens) world.refreshTokens.clear();
    },
    approveDevice: (userCode) => {
      for (const device of world.devices.values()) if (device.userCode === userCode) device.approved = true;
    },
  };
}

interface Route {
  service: FakeService;
  action: string;
  run(request: IncomingRequest, world: SsoWorld, state: FakeState): Reply;
}

const json = (value: unknown, status = 200): Reply => ({
  status,
  body: JSON.stringify(value),
  contentType: "application/json",
});

/** An OIDC error: 400 with `{"error": "<snake_case>"}` and the exception name in x-amzn-ErrorType, like the service. */
class OidcError extends AwsError {
  constructor(exception: string, error: string, status = 400) {
    super(exception, error, { status });
  }
}

function body(request: IncomingRequest): Record<string, unknown> {
  try {
    return JSON.parse(new TextDecoder().decode(request.body) || "{}");
  } catch {
    throw new OidcError("InvalidRequestException", "invalid_request");
  }
}

const str = (value: unknown) => typeof value === "string" ? value : "";

function client(world: SsoWorld, b: Record<string, unknown>) {
  const found = world.clients.get(str(b.clientId));
  if (!found || found.secret !== str(b.clientSecret)) throw new OidcError("InvalidClientException", "invalid_client");
  return found;
}

async function sha256Base64Url(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return btoa(String.fromCharCode(...digest)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function issueToken(world: SsoWorld, state: FakeState, clientId: string, withRefresh: boolean): Reply {
  const accessToken = "aoa" + randomChars(ALNUM, 120);
  world.accessTokens.set(accessToken, new Date(state.now().getTime() + world.accessTokenTtl * 1000));
  const refreshToken = withRefresh ? "aor" + randomChars(ALNUM, 120) : undefined;
  if (refreshToken) world.refreshTokens.set(refreshToken, clientId);
  return json({ accessToken, tokenType: "Bearer", expiresIn: world.accessTokenTtl, refreshToken });
}

// CreateToken needs the PKCE check, which is async; the route table is sync, so the code grant is pre-verified.
const verifiedCodes = new WeakSet<object>();

function createToken(request: IncomingRequest, world: SsoWorld, state: FakeState): Reply {
  const b = body(request);
  const c = client(world, b);
  const grant = str(b.grantType);
  if (grant === "urn:ietf:params:oauth:grant-type:device_code") {
    const device = world.devices.get(str(b.deviceCode));
    if (!device || device.clientId !== str(b.clientId)) throw new OidcError("InvalidGrantException", "invalid_grant");
    if (world.slowDowns > 0) {
      world.slowDowns--;
      throw new OidcError("SlowDownException", "slow_down");
    }
    if (!device.approved) throw new OidcError("AuthorizationPendingException", "authorization_pending");
    world.devices.delete(str(b.deviceCode));
    return issueToken(world, state, str(b.clientId), c.grantTypes.includes("refresh_token"));
  }
  if (grant === "authorization_code") {
    if (!verifiedCodes.has(request)) throw new OidcError("InvalidGrantException", "invalid_grant");
    return issueToken(world, state, str(b.clientId), c.grantTypes.includes("refresh_token"));
  }
  if (grant === "refresh_token") {
    const owner = world.refreshTokens.get(str(b.refreshToken));
    if (owner !== str(b.clientId)) throw new OidcError("InvalidGrantException", "invalid_grant");
    world.refreshTokens.delete(str(b.refreshToken)); // rotated, like the service
    return issueToken(world, state, owner, true);
  }
  throw new OidcError("UnsupportedGrantTypeException", "unsupported_grant_type");
}

async function verifyCode(request: IncomingRequest, world: SsoWorld): Promise<void> {
  const b = body(request);
  if (str(b.grantType) !== "authorization_code") return;
  const code = world.codes.get(str(b.code));
  world.codes.delete(str(b.code)); // single use, even when the rest is wrong
  if (
    code && code.clientId === str(b.clientId) && code.redirectUri === str(b.redirectUri) &&
    code.challenge === await sha256Base64Url(str(b.codeVerifier))
  ) verifiedCodes.add(request);
}

function bearer(request: IncomingRequest, world: SsoWorld, state: FakeState): void {
  const expires = world.accessTokens.get(request.headers.get("x-amz-sso_bearer_token") ?? "");
  if (!expires || expires <= state.now()) {
    throw new AwsError("UnauthorizedException", "Session token not found or invalid", { status: 401 });
  }
}

/**
 * One page of `items` as the portal pages them: at most `max_result` (capped by the world's page size) from the offset
 * `next_token` names, and a fresh opaque `nextToken` while more remain. An unknown token is refused, as AWS does.
 */
function page<T>(
  request: IncomingRequest,
  of: { world: SsoWorld; items: readonly T[] },
): { items: T[]; nextToken?: string } {
  const { world, items } = of;
  const q = request.url.searchParams;
  const asked = Number(q.get("max_result") ?? world.pageSize);
  const size = Math.max(1, Math.min(Number.isFinite(asked) && asked > 0 ? asked : world.pageSize, world.pageSize));
  const token = q.get("next_token");
  const offset = token === null ? 0 : world.pageTokens.get(token);
  if (offset === undefined) throw new AwsError("InvalidRequestException", "Invalid nextToken", { status: 400 });
  const end = offset + size;
  if (end >= items.length) return { items: items.slice(offset) };
  const nextToken = randomChars(ALNUM, 32);
  world.pageTokens.set(nextToken, end);
  return { items: items.slice(offset, end), nextToken };
}

const ROUTES: Record<string, Route> = {
  "POST /client/register": {
    service: "sso-oidc",
    action: "RegisterClient",
    run(request, world, state) {
      const b = body(request);
      if (!str(b.clientName) || str(b.clientType) !== "public") {
        throw new OidcError("InvalidClientMetadataException", "invalid_client_metadata");
      }
      const grantTypes = Array.isArray(b.grantTypes) ? b.grantTypes.map(str) : ["device_code"];
      const clientId = randomId("cid", 22);
      const clientSecret = randomChars(ALNUM, 200);
      world.clients.set(clientId, { secret: clientSecret, grantTypes });
      const issuedAt = Math.floor(state.now().getTime() / 1000);
      return json({ clientId, clientSecret, clientIdIssuedAt: issuedAt, clientSecretExpiresAt: issuedAt + 90 * 86400 });
    },
  },
  "POST /device_authorization": {
    service: "sso-oidc",
    action: "StartDeviceAuthorization",
    run(request, world) {
      const b = body(request);
      client(world, b);
      const deviceCode = randomChars(ALNUM, 60);
      const userCode = `${randomChars("BCDFGHJKLMNPQRSTVWXZ", 4)}-${randomChars("BCDFGHJKLMNPQRSTVWXZ", 4)}`;
      world.devices.set(deviceCode, {
        clientId: str(b.clientId),
        userCode,
        approved: false,
        startUrl: str(b.startUrl),
      });
      const verificationUri = `${request.url.origin}/device`;
      return json({
        deviceCode,
        userCode,
        verificationUri,
        verificationUriComplete: `${verificationUri}?user_code=${userCode}`,
        expiresIn: 600,
        interval: world.deviceInterval,
      });
    },
  },
  "POST /token": { service: "sso-oidc", action: "CreateToken", run: createToken },
  "GET /authorize": {
    service: "sso-oidc",
    action: "Authorize",
    run(request, world) {
      const q = request.url.searchParams;
      const redirect = new URL(q.get("redirect_uri") ?? "");
      const known = world.clients.get(q.get("client_id") ?? "");
      if (
        !known?.grantTypes.includes("authorization_code") || q.get("response_type") !== "code" ||
        q.get("code_challenge_method") !== "S256" || !q.get("code_challenge") || redirect.hostname !== "127.0.0.1"
      ) return json({ error: "invalid_request" }, 400);
      if (!world.userApproves) return { status: 200, body: "waiting for the user", contentType: "text/plain" };
      const code = randomChars(ALNUM, 40);
      world.codes.set(code, {
        clientId: q.get("client_id")!,
        redirectUri: q.get("redirect_uri")!,
        challenge: q.get("code_challenge")!,
      });
      redirect.searchParams.set("code", code);
      redirect.searchParams.set("state", q.get("state") ?? "");
      return { status: 302, body: "", contentType: "text/plain", headers: { location: redirect.href } };
    },
  },
  "GET /device": {
    service: "sso-oidc",
    action: "VerifyDevice",
    run(request, world) {
      const userCode = request.url.searchParams.get("user_code") ?? "";
      if (world.userApproves) {
        for (const device of world.devices.values()) if (device.userCode === userCode) device.approved = true;
      }
      return { status: 200, body: world.userApproves ? "approved" : "waiting", contentType: "text/plain" };
    },
  },
  "GET /federation/credentials": {
    service: "sso",
    action: "GetRoleCredentials",
    run(request, world, state) {
      bearer(request, world, state);
      const accountId = request.url.searchParams.get("account_id") ?? "";
      const roleName = request.url.searchParams.get("role_name") ?? "";
      if (!world.assignments.get(accountId)?.has(roleName)) {
        throw new AwsError("ForbiddenException", "No access", { status: 403 });
      }
      const roleArn = `arn:aws:iam::${accountId}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_${roleName}_fake`;
      const c = state.issue("role", { roleArn, roleSessionName: "sso-user", mfaAuthenticated: false }, {
        durationSeconds: 3600,
      });
      return json({
        roleCredentials: {
          accessKeyId: c.accessKeyId,
          secretAccessKey: c.secretAccessKey,
          sessionToken: c.sessionToken,
          expiration: c.expiration!.getTime(),
        },
      });
    },
  },
  "GET /assignment/accounts": {
    service: "sso",
    action: "ListAccounts",
    run(request, world, state) {
      bearer(request, world, state);
      const all = [...world.assignments.keys()].map((accountId) => ({
        accountId,
        accountName: world.accountNames.get(accountId) ?? accountId,
        emailAddress: `aws+${accountId}@example.com`,
      }));
      const { items, nextToken } = page(request, { world, items: all });
      return json({ accountList: items, nextToken });
    },
  },
  "GET /assignment/roles": {
    service: "sso",
    action: "ListAccountRoles",
    run(request, world, state) {
      bearer(request, world, state);
      const accountId = request.url.searchParams.get("account_id") ?? "";
      const all = [...world.assignments.get(accountId) ?? []].map((roleName) => ({ roleName, accountId }));
      const { items, nextToken } = page(request, { world, items: all });
      return json({ roleList: items, nextToken });
    },
  },
};

function render(route: Route, error: AwsError): Reply {
  const payload = route.service === "sso-oidc" && error instanceof OidcError
    ? { error: error.message, error_description: error.code }
    : { message: error.message };
  return { ...json(payload, error.status), errorCode: error.code, headers: { "x-amzn-ErrorType": error.code } };
}

/** Claims SSO portal and SSO-OIDC requests by method and path. */
export const ssoProtocol: Protocol = {
  claim(request: IncomingRequest, state: FakeState): Dispatch | undefined {
    const route = ROUTES[`${request.method} ${request.url.pathname}`];
    if (!route) return undefined;
    const world = worldFor(request.url.host);
    const params: Record<string, string> = Object.fromEntries(request.url.searchParams);
    if (route.action === "CreateToken") {
      try {
        params.grantType = str(body(request).grantType);
      } catch { /* answered as invalid_request by run() */ }
    }
    return {
      service: route.service,
      action: route.action,
      params,
      fail: (error) => render(route, error),
      async run() {
        try {
          if (route.action === "CreateToken") await verifyCode(request, world);
          return route.run(request, world, state);
        } catch (error) {
          if (error instanceof AwsError) return render(route, error);
          throw error;
        }
      },
    };
  },
};
