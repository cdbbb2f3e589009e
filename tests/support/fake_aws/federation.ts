/**
 * The console federation endpoint (`GET /federation?Action=getSigninToken…`, `Action=login`) and the sign-in
 * logout (`GET /oauth?Action=logout`), recorded as service "signin". getSigninToken accepts only unexpired role or
 * federated sessions the fake issued (as AWS refuses user keys and GetSessionToken sessions); `SessionDuration` only
 * with role sessions. A SigninToken lives 15 minutes; login answers 302 to a console Destination.
 * @module
 */

import { AwsError } from "./errors.ts";
import type { Dispatch, IncomingRequest, Protocol, Reply } from "./protocol.ts";
import { type Credential, type FakeState, randomChars } from "./state.ts";

/** How long a SigninToken may be used, as AWS documents it. */
export const SIGNIN_TOKEN_LIFETIME_MS = 15 * 60 * 1000;

/** Hosts a login Destination may point at (the console of some partition, optionally region-prefixed). */
const CONSOLE_HOST =
  /^([a-z0-9-]+\.)?console\.(aws\.amazon\.com|amazonaws\.cn|amazonaws-us-gov\.com|amazonaws-eusc\.eu)$/;

interface IssuedToken {
  accessKeyId: string;
  expires: Date;
}

// FakeState is shared with other modules; the tokens are this protocol's alone, so they hang off the state here.
const tokensByState = new WeakMap<FakeState, Map<string, IssuedToken>>();

function tokens(state: FakeState): Map<string, IssuedToken> {
  let map = tokensByState.get(state);
  if (!map) tokensByState.set(state, map = new Map());
  return map;
}

function badRequest(message: string): AwsError {
  return new AwsError("BadRequest", message, { status: 400 });
}

function textReply(status: number, body: string, errorCode?: string): Reply {
  return { status, body, contentType: "text/plain; charset=utf-8", errorCode };
}

function fail(error: AwsError): Reply {
  return textReply(error.status, `${error.code}: ${error.message}\n`, error.code);
}

function usable(state: FakeState, credential: Credential | undefined): credential is Credential {
  return credential !== undefined && (!credential.expiration || credential.expiration > state.now());
}

function getSigninToken(state: FakeState, params: Record<string, string>): Reply {
  let session: { sessionId?: unknown; sessionKey?: unknown; sessionToken?: unknown };
  try {
    session = JSON.parse(params.Session ?? "");
  } catch {
    throw badRequest("Session is not valid JSON");
  }
  const credential = typeof session.sessionId === "string" ? state.credential(session.sessionId) : undefined;
  if (
    !credential || credential.secretAccessKey !== session.sessionKey || credential.sessionToken !== session.sessionToken
  ) {
    throw new AwsError("InvalidSession", "The session credentials are not valid", { status: 400 });
  }
  if (!usable(state, credential)) throw new AwsError("ExpiredSession", "The session has expired", { status: 400 });
  if (credential.kind !== "role" && credential.kind !== "federated") {
    throw badRequest(`${credential.kind} credentials cannot sign in to the console`);
  }
  if (params.SessionDuration !== undefined) {
    const seconds = Number(params.SessionDuration);
    if (credential.kind !== "role") throw badRequest("SessionDuration is only valid with role sessions");
    if (!Number.isInteger(seconds) || seconds < 900 || seconds > 43200) throw badRequest("Invalid SessionDuration");
  }
  const token = randomChars("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 120);
  tokens(state).set(token, {
    accessKeyId: credential.accessKeyId,
    expires: new Date(state.now().getTime() + SIGNIN_TOKEN_LIFETIME_MS),
  });
  return { status: 200, body: JSON.stringify({ SigninToken: token }), contentType: "application/json" };
}

function login(state: FakeState, params: Record<string, string>): Reply {
  const issued = tokens(state).get(params.SigninToken ?? "");
  if (!issued || issued.expires <= state.now() || !usable(state, state.credential(issued.accessKeyId))) {
    throw new AwsError("InvalidSigninToken", "The sign-in token is not valid or has expired", { status: 400 });
  }
  let destination: URL;
  try {
    destination = new URL(params.Destination ?? "");
  } catch {
    throw badRequest("Destination is not a URL");
  }
  if (destination.protocol !== "https:" || !CONSOLE_HOST.test(destination.hostname)) {
    throw badRequest("Destination is not an AWS console URL");
  }
  return { status: 302, body: "", contentType: "text/plain", headers: { location: destination.toString() } };
}

function logout(params: Record<string, string>): Reply {
  const target = params.redirect_uri ?? "";
  if (!URL.canParse(target)) throw badRequest("redirect_uri is not a URL");
  return { status: 302, body: "", contentType: "text/plain", headers: { location: target } };
}

/** The sign-in endpoints, for GET requests on `/federation` and `/oauth`. */
export const federationProtocol: Protocol = {
  claim(request: IncomingRequest, state: FakeState): Dispatch | undefined {
    const path = request.url.pathname;
    if (request.method !== "GET" || (path !== "/federation" && path !== "/oauth")) return undefined;
    const params = Object.fromEntries(request.url.searchParams);
    const action = params.Action ?? "";
    // The call log keeps the session's key id, never its secret or token; nor the signin token itself.
    const recorded: Record<string, string> = { ...params };
    let accessKeyId: string | undefined;
    if (recorded.Session !== undefined) {
      try {
        accessKeyId = String(JSON.parse(recorded.Session).sessionId);
      } catch { /* recorded as redacted anyway */ }
      recorded.Session = "<redacted>";
    }
    if (recorded.SigninToken !== undefined) recorded.SigninToken = "<redacted>";
    return {
      service: "signin",
      action,
      params: recorded,
      accessKeyId,
      run: () => {
        try {
          if (path === "/oauth" && action === "logout") return Promise.resolve(logout(params));
          if (path === "/federation" && action === "getSigninToken") {
            return Promise.resolve(getSigninToken(state, params));
          }
          if (path === "/federation" && action === "login") return Promise.resolve(login(state, params));
          throw badRequest(`unknown Action ${JSON.stringify(action)}`);
        } catch (e) {
          if (e instanceof AwsError) return Promise.resolve(fail(e));
          throw e;
        }
      },
      fail,
    };
  },
};
