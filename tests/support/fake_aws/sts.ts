/**
 * STS (API version 2011-06-15) with the rules aws-vault depends on (docs/behaviour.md#credential-chain, #durations):
 * who may call what, duration
 * bounds, the 1 h role-chaining cap, MFA validation and MFA-protected roles.
 * @module
 */

import { accessDenied, AwsError, validationError } from "./errors.ts";
import type { ActionContext, QueryService } from "./query.ts";
import { arnAccount, type Credential, type FakeState } from "./state.ts";
import { checkText, integerParam, mfaParams, NAME_PATTERN, required } from "./validate.ts";
import { fields, node } from "./xml.ts";
import { enforceSessionPolicy, packedPercent, sessionPolicyOf } from "./session_policy.ts";

/** Longest role session when the caller's credentials are temporary (a role session or GetSessionToken's). */
export const ROLE_CHAINING_MAX_SECONDS = 3600;

function credentialsXml(credential: Credential): string {
  return node(
    "Credentials",
    fields({
      AccessKeyId: credential.accessKeyId,
      SecretAccessKey: credential.secretAccessKey,
      SessionToken: credential.sessionToken,
      Expiration: credential.expiration,
    }),
  );
}

function assumedRoleUserXml(state: FakeState, credential: Credential): string {
  const principal = state.principal(credential);
  return node("AssumedRoleUser", fields({ AssumedRoleId: principal.userId, Arn: principal.arn }));
}

function signedCaller(context: ActionContext): Credential {
  if (!context.caller) throw new AwsError("MissingAuthenticationToken", "Request is missing Authentication Token");
  return context.caller;
}

function notAuthorized(state: FakeState, caller: Credential, action: string, resource: string): AwsError {
  return accessDenied(
    `User: ${state.principal(caller).arn} is not authorized to perform: sts:${action} on resource: ${resource}`,
  );
}

/** Role ARN, session name and duration, validated as AssumeRole* validate them. */
function roleRequest(context: ActionContext) {
  const { params } = context;
  const roleArn = checkText(required(params, "RoleArn"), "RoleArn", { min: 20, max: 2048 });
  const sessionName = checkText(required(params, "RoleSessionName"), "RoleSessionName", {
    min: 2,
    max: 64,
    pattern: NAME_PATTERN,
  });
  const duration = integerParam(params, "DurationSeconds", { min: 900, max: 43200, fallback: 3600 });
  if (params.SourceIdentity !== undefined) {
    checkText(params.SourceIdentity, "SourceIdentity", { min: 2, max: 64, pattern: NAME_PATTERN });
  }
  return { roleArn, sessionName, duration };
}

function checkMaxSessionDuration(duration: number, maxSessionDuration: number | undefined): void {
  if (duration > (maxSessionDuration ?? 3600)) {
    throw validationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
  }
}

function checkTags(params: Readonly<Record<string, string>>): void {
  const keys = Object.keys(params).filter((name) => /^Tags\.member\.\d+\.Key$/.test(name));
  if (keys.length > 50) throw validationError("Session tags exceed the limit of 50.");
  for (const name of keys) checkText(params[name], "Tags.member.N.Key", { min: 1, max: 128 });
}

function getSessionToken(context: ActionContext): string {
  const { state, params } = context;
  const caller = signedCaller(context);
  if (caller.kind !== "user") throw accessDenied("Cannot call GetSessionToken with session credentials");
  const duration = integerParam(params, "DurationSeconds", { min: 900, max: 129600, fallback: 43200 });
  const mfa = mfaParams(params);
  if (mfa) state.verifyMfa(mfa.serial, mfa.code, { userName: caller.userName });
  const issued = state.issue("session", { userName: caller.userName, mfaAuthenticated: mfa !== undefined }, {
    durationSeconds: duration,
  });
  return credentialsXml(issued);
}

function assumeRole(context: ActionContext): string {
  const { state, params } = context;
  const caller = signedCaller(context);
  const { roleArn, sessionName, duration } = roleRequest(context);
  const mfa = mfaParams(params);
  checkTags(params);
  const role = state.role(roleArn);
  // GetFederationToken credentials may call no STS action but GetCallerIdentity.
  if (!role || caller.kind === "federated") throw notAuthorized(state, caller, "AssumeRole", roleArn);
  const sessionPolicy = sessionPolicyOf(params, { account: arnAccount(roleArn) });
  enforceSessionPolicy(caller, { action: "sts:AssumeRole", principal: state.principal(caller).arn, resource: roleArn });
  if (role.externalId !== undefined && params.ExternalId !== role.externalId) {
    throw notAuthorized(state, caller, "AssumeRole", roleArn);
  }
  if (mfa) state.verifyMfa(mfa.serial, mfa.code, { userName: caller.userName });
  // MFA context carries over from an MFA-authenticated GetSessionToken or role session.
  const mfaAuthenticated = mfa !== undefined || caller.mfaAuthenticated;
  if (role.requireMfa && !mfaAuthenticated) throw notAuthorized(state, caller, "AssumeRole", roleArn);
  checkMaxSessionDuration(duration, role.maxSessionDuration);
  // AWS counts GetSessionToken credentials as a chaining source too (aws-vault #240/#263): the rule behind aws-vault's
  // "skip GetSessionToken when the role wants more than 1h".
  if ((caller.kind === "role" || caller.kind === "session") && duration > ROLE_CHAINING_MAX_SECONDS) {
    throw validationError(
      "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
    );
  }
  const issued = state.issue("role", {
    userName: caller.userName,
    mfaAuthenticated,
    roleArn,
    roleSessionName: sessionName,
    sessionPolicy,
  }, { durationSeconds: duration });
  return assumedRoleUserXml(state, issued) + credentialsXml(issued) +
    fields({ PackedPolicySize: sessionPolicy && packedPercent(sessionPolicy), SourceIdentity: params.SourceIdentity });
}

function jwtClaims(token: string): Record<string, unknown> {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const claims = JSON.parse(atob(payload));
    return typeof claims === "object" && claims !== null ? claims : {};
  } catch {
    return {};
  }
}

function assumeRoleWithWebIdentity(context: ActionContext): string {
  const { state, params } = context;
  const { roleArn, sessionName, duration } = roleRequest(context);
  const token = checkText(required(params, "WebIdentityToken"), "WebIdentityToken", { min: 4, max: 20000 });
  if (token.trim() === "invalid") {
    throw new AwsError(
      "InvalidIdentityToken",
      "The web identity token that was passed could not be validated by AWS. Get a new identity token from the " +
        "identity provider and then retry the request.",
    );
  }
  const role = state.role(roleArn);
  if (!role) throw accessDenied("Not authorized to perform sts:AssumeRoleWithWebIdentity");
  checkMaxSessionDuration(duration, role.maxSessionDuration);
  const sessionPolicy = sessionPolicyOf(params, { account: arnAccount(roleArn) });
  const claims = jwtClaims(token);
  const details = { mfaAuthenticated: false, roleArn, roleSessionName: sessionName, sessionPolicy };
  const issued = state.issue("role", details, { durationSeconds: duration });
  return credentialsXml(issued) +
    fields({ SubjectFromWebIdentityToken: typeof claims.sub === "string" ? claims.sub : "web-identity-subject" }) +
    assumedRoleUserXml(state, issued) +
    fields({
      Provider: typeof claims.iss === "string" ? claims.iss : "oidc.example.com",
      Audience: typeof claims.aud === "string" ? claims.aud : "sts.amazonaws.com",
      PackedPolicySize: sessionPolicy && packedPercent(sessionPolicy),
      SourceIdentity: params.SourceIdentity,
    });
}

function getFederationToken(context: ActionContext): string {
  const { state, params } = context;
  const caller = signedCaller(context);
  if (caller.kind !== "user") throw accessDenied("Cannot call GetFederationToken with session credentials");
  const name = checkText(required(params, "Name"), "Name", { min: 2, max: 32, pattern: NAME_PATTERN });
  const duration = integerParam(params, "DurationSeconds", { min: 900, max: 129600, fallback: 43200 });
  const sessionPolicy = sessionPolicyOf(params, { account: state.accountId });
  const issued = state.issue("federated", {
    userName: caller.userName,
    mfaAuthenticated: false,
    federatedName: name,
    sessionPolicy,
  }, { durationSeconds: duration });
  const principal = state.principal(issued);
  return credentialsXml(issued) +
    node("FederatedUser", fields({ FederatedUserId: principal.userId, Arn: principal.arn })) +
    fields({ PackedPolicySize: sessionPolicy && packedPercent(sessionPolicy) });
}

function getCallerIdentity(context: ActionContext): string {
  const principal = context.state.principal(signedCaller(context));
  return fields({ UserId: principal.userId, Account: principal.account, Arn: principal.arn });
}

/** The STS service. */
export const STS: QueryService = {
  name: "sts",
  version: "2011-06-15",
  xmlns: "https://sts.amazonaws.com/doc/2011-06-15/",
  actions: {
    GetSessionToken: { run: getSessionToken },
    AssumeRole: { run: assumeRole },
    AssumeRoleWithWebIdentity: { run: assumeRoleWithWebIdentity, anonymous: true },
    GetFederationToken: { run: getFederationToken },
    GetCallerIdentity: { run: getCallerIdentity },
  },
};
