/**
 * `login [PROFILE]`: open the AWS console with federated credentials (docs/behaviour.md#login). Role sessions go to the
 * federation endpoint as they are; an IAM user's keys are first exchanged for a GetFederationToken session, since the
 * console accepts only temporary credentials and GetFederationToken refuses session credentials (so the target profile
 * never gets a GetSessionToken session here).
 * @module
 */

import { handoutFacts } from "../../audit/handout.ts";
import { parentProcess } from "../../audit/process_info.ts";
import { recordHandout } from "../../audit/record.ts";
import { consoleDestination, federationEndpoint, getSigninToken, loginUrl, logoutUrl } from "../../aws/signin.ts";
import { httpClient } from "../../aws/tls.ts";
import type { Env } from "../../core/env.ts";
import type { Logger } from "../../core/log.ts";
import type { AwsConfigFile } from "../../config/config_file.ts";
import type { ProfileConfig } from "../../config/profile_config.ts";
import { resolveProfile } from "../../config/profile.ts";
import { formatDuration } from "../../config/duration.ts";
import { AssumeRoleProvider } from "../../credentials/assume_role_provider.ts";
import { CachedSessionProvider } from "../../credentials/cached_provider.ts";
import type { Credentials } from "../../core/credentials.ts";
import { FederationTokenProvider, getCallerArn } from "../../credentials/federation.ts";
import type { CredentialsProvider } from "../../credentials/provider.ts";
import { AppError } from "../../core/errors.ts";
import { openBrowser } from "../../os/browser.ts";
import { resolveChain } from "../../credentials/profile_credentials.ts";
import type { CommandContext } from "../command.ts";
import { mfaOptionsOf, profileFlagsOf } from "../credential_options.ts";
import { loadConfig, openVault } from "../vault_access.ts";
import type { loginSpec } from "./specs.ts";

type Context = CommandContext<typeof loginSpec>;

/** Login failed for a reason that is not a credential source's (no credentials at all, the federation endpoint). */
export class LoginError extends AppError {}

/** Credentials that are already there: the environment's, or the result of one retrieval. */
function fixedProvider(credentials: Credentials, description: string): CredentialsProvider {
  return { description, retrieve: () => Promise.resolve(credentials) };
}

/**
 * Credentials from `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN` (and the SDK's older aliases),
 * or undefined when there is no access key.
 * @throws LoginError when only half of a key pair is set
 */
export function environmentCredentials(env: { get(name: string): string | undefined }): Credentials | undefined {
  const accessKeyId = env.get("AWS_ACCESS_KEY_ID") || env.get("AWS_ACCESS_KEY");
  const secretAccessKey = env.get("AWS_SECRET_ACCESS_KEY") || env.get("AWS_SECRET_KEY");
  const sessionToken = env.get("AWS_SESSION_TOKEN") || env.get("AWS_SECURITY_TOKEN");
  if (!accessKeyId && !secretAccessKey) return undefined;
  if (!accessKeyId || !secretAccessKey) {
    const missing = accessKeyId ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID";
    throw new LoginError(`unable to authenticate to AWS through your environment variables: ${missing} is not set`);
  }
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

/** The target profile, the provider of its (not yet console-ready) credentials and the config file they came from. */
async function sourceFor(
  context: Context,
  name: string,
): Promise<[ProfileConfig, CredentialsProvider, AwsConfigFile]> {
  const config = await loadConfig(context);
  const flags = profileFlagsOf(context.flags, context.global);
  const profileFlags = { ...flags, federationDuration: flags.duration };
  if (!name) {
    const creds = environmentCredentials(context.env);
    if (!creds) throw new LoginError("argument 'profile' not provided, nor any AWS env vars found. Try --help");
    // The empty profile still brings the region (--region, AWS_REGION, [default]) and endpoint settings.
    const profile = resolveProfile(config, "", { flags: profileFlags, env: context.env, log: context.log });
    return [{ ...profile, profileName: "(environment)" }, fixedProvider(creds, "environment credentials"), config];
  }
  const source = { config, vault: await openVault(context), env: context.env };
  const { profile, provider } = await resolveChain(source, name, {
    flags: profileFlags,
    noSession: context.flags.noSession,
    mfa: mfaOptionsOf(context),
    now: context.now,
    disableSessions: true,
    log: context.log,
  });
  return [profile, provider, config];
}

/**
 * Temporary credentials the console accepts. Role providers are used directly; anything else is retrieved once and
 * asked who it is: a role or federated session passes as is, an IAM user's keys go through GetFederationToken.
 * SSO and web identity sessions are recognised by their `assumed-role` ARN, at the cost of one STS call.
 * @returns the credentials, the provider that made them and the caller's ARN when it was asked (for the audit log)
 */
async function consoleCredentials(
  profile: ProfileConfig,
  provider: CredentialsProvider,
  options: { env: Env; now: () => Date; log: Logger },
): Promise<{ credentials: Credentials; provider: CredentialsProvider; arn?: string }> {
  const { env, now, log } = options;
  const inner = provider instanceof CachedSessionProvider ? provider.inner : provider;
  if (inner instanceof AssumeRoleProvider) return { credentials: await provider.retrieve(), provider };
  const credentials = await provider.retrieve();
  const arn = await getCallerArn(profile, credentials, { env, log });
  const parts = arn.split(":");
  if (parts.length < 6) throw new LoginError(`unable to parse ARN: ${arn}`);
  const resource = parts.slice(5).join(":");
  if (resource.startsWith("assumed-role") || resource.startsWith("federated-user")) {
    return { credentials, provider, arn };
  }
  log.debug("Creating a federated session");
  const federation = new FederationTokenProvider(profile, fixedProvider(credentials, provider.description), {
    duration: profile.getFederationTokenDuration,
    env,
    now,
    log,
  });
  return { credentials: await federation.retrieve(), provider: federation, arn };
}

/** Runs `login`. */
export async function run(context: Context): Promise<number> {
  const name = context.args.profile || context.env.get("AWS_PROFILE") || "";
  const [profile, provider, config] = await sourceFor(context, name);
  const { credentials, ...made } = await consoleCredentials(profile, provider, {
    env: context.env,
    now: context.now,
    log: context.log,
  });
  if (credentials.expiration) {
    const left = formatDuration(credentials.expiration.getTime() - context.now().getTime());
    context.log.debug(`Requesting a signin token for session expiring in ${left}`);
  }
  const endpoint = federationEndpoint(profile, { env: context.env, log: context.log });
  let signinToken: string;
  // The same trust as the AWS calls: behind a TLS-inspecting proxy the federation endpoint is reached the same way.
  const client = httpClient({ env: context.env, caBundle: profile.caBundle, log: context.log });
  try {
    const fetchWith: typeof fetch = (input, init) => fetch(input, { ...init, ...(client ? { client } : {}) });
    signinToken = await getSigninToken(endpoint, credentials, { fetch: fetchWith, log: context.log });
  } catch (e) {
    throw new LoginError(`profile ${profile.profileName}: ${(e as Error).message}`, { cause: e });
  } finally {
    client?.close();
  }
  const path = context.flags.path || undefined;
  const destination = consoleDestination({ region: profile.region, path });
  let url = loginUrl(endpoint, { destination, signinToken });
  if (context.flags.autoLogout) url = logoutUrl(endpoint, url);
  // The URL signs anyone in: the log says only that one was made, for whom, and until when.
  await recordHandout(context, () => ({
    event: "login",
    profile: profile.profileName,
    ...handoutFacts(profile, made.provider, { credentials }),
    ...(made.arn && !profile.roleArn ? { callerArn: made.arn } : {}),
    output: context.flags.stdout ? "stdout" : "browser",
    requester: parentProcess(),
  }), { config });
  if (context.flags.stdout) {
    context.out.stdout(`${url}\n`);
  } else {
    await openBrowser(url, { what: "the AWS console login URL", env: context.env });
  }
  return 0;
}
