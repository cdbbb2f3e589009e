/**
 * IAM (API version 2010-05-08): the user and access-key actions `rotate` and `login` use.
 * @module
 */

import { accessDenied, AwsError, validationError } from "./errors.ts";
import type { ActionContext, QueryService } from "./query.ts";
import type { Credential, FakeState } from "./state.ts";
import { checkText, required } from "./validate.ts";
import { fields, memberList, node } from "./xml.ts";
import { enforceSessionPolicy } from "./session_policy.ts";

/** How many access keys an IAM user may have. */
export const MAX_KEYS_PER_USER = 2;

const USER_NAME_PATTERN = "[\\w+=,.@-]+";

function noSuchUser(userName: string): AwsError {
  return new AwsError("NoSuchEntity", `The user with name ${userName} cannot be found.`, { status: 404 });
}

/** The caller, if IAM accepts its kind of credentials. */
function iamCaller(context: ActionContext, action: string): Credential {
  const caller = context.caller;
  if (!caller) throw new AwsError("MissingAuthenticationToken", "Request is missing Authentication Token");
  // AWS answers this for GetSessionToken credentials obtained without MFA (aws-vault issues #15, #1056).
  if (caller.kind === "session" && !caller.mfaAuthenticated) {
    throw new AwsError("InvalidClientTokenId", "The security token included in the request is invalid", {
      status: 403,
    });
  }
  if (caller.kind === "federated") {
    throw accessDenied(
      `User: ${context.state.principal(caller).arn} is not authorized to perform: iam:${action} because no ` +
        "identity-based policy allows the iam:" + action + " action",
    );
  }
  const principal = context.state.principal(caller).arn;
  const resource = `user ${context.params.UserName ?? ""}`;
  enforceSessionPolicy(caller, { action: `iam:${action}`, principal, resource });
  return caller;
}

/** The user an action applies to: `UserName`, else the calling user; role sessions must name one. */
function targetUser(context: ActionContext, action: string): string {
  const caller = iamCaller(context, action);
  const requested = context.params.UserName;
  if (requested !== undefined) {
    checkText(requested, "UserName", { min: 1, max: 128, pattern: USER_NAME_PATTERN });
    if (!context.state.user(requested)) throw noSuchUser(requested);
    return requested;
  }
  if ((caller.kind === "user" || caller.kind === "session") && caller.userName) return caller.userName;
  throw validationError("Must specify userName when calling with non-User credentials");
}

function userXml(state: FakeState, userName: string): string {
  const user = state.user(userName);
  if (!user) throw noSuchUser(userName);
  return node(
    "User",
    fields({
      Path: "/",
      UserName: user.userName,
      UserId: user.userId,
      Arn: `arn:aws:iam::${state.accountId}:user/${user.userName}`,
      CreateDate: user.createDate,
    }),
  );
}

function getUser(context: ActionContext): string {
  return userXml(context.state, targetUser(context, "GetUser"));
}

function createAccessKey(context: ActionContext): string {
  const userName = targetUser(context, "CreateAccessKey");
  if (context.state.userKeys(userName).length >= MAX_KEYS_PER_USER) {
    throw new AwsError("LimitExceeded", `Cannot exceed quota for AccessKeysPerUser: ${MAX_KEYS_PER_USER}`, {
      status: 409,
    });
  }
  const key = context.state.createUserKey(userName);
  return node(
    "AccessKey",
    fields({
      UserName: userName,
      AccessKeyId: key.accessKeyId,
      Status: "Active",
      SecretAccessKey: key.secretAccessKey,
      CreateDate: key.createDate,
    }),
  );
}

function deleteAccessKey(context: ActionContext): undefined {
  const userName = targetUser(context, "DeleteAccessKey");
  const accessKeyId = checkText(required(context.params, "AccessKeyId"), "AccessKeyId", { min: 16, max: 128 });
  if (!context.state.userKeys(userName).some((key) => key.accessKeyId === accessKeyId)) {
    throw new AwsError("NoSuchEntity", `The Access Key with id ${accessKeyId} cannot be found.`, { status: 404 });
  }
  context.state.deleteKey(accessKeyId);
  return undefined;
}

function listAccessKeys(context: ActionContext): string {
  const userName = targetUser(context, "ListAccessKeys");
  const members = context.state.userKeys(userName).map((key) =>
    fields({ UserName: userName, AccessKeyId: key.accessKeyId, Status: "Active", CreateDate: key.createDate })
  );
  return memberList("AccessKeyMetadata", members) + fields({ IsTruncated: false });
}

/** The IAM service. */
export const IAM: QueryService = {
  name: "iam",
  version: "2010-05-08",
  xmlns: "https://iam.amazonaws.com/doc/2010-05-08/",
  actions: {
    GetUser: { run: getUser },
    CreateAccessKey: { run: createAccessKey },
    DeleteAccessKey: { run: deleteAccessKey },
    ListAccessKeys: { run: listAccessKeys },
  },
};
