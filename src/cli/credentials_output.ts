/**
 * The output formats of `export` (docs/behaviour.md#export): `env`, `export-env`, `json` (credential_process v1) and
 * `ini`.
 * @module
 */

import type { Credentials } from "../core/credentials.ts";
import { formatRfc3339 } from "../core/time.ts";

function envLines(creds: Credentials, region: string | undefined): [string, string][] {
  const lines: [string, string][] = [
    ["AWS_ACCESS_KEY_ID", creds.accessKeyId],
    ["AWS_SECRET_ACCESS_KEY", creds.secretAccessKey],
  ];
  if (creds.sessionToken) lines.push(["AWS_SESSION_TOKEN", creds.sessionToken]);
  if (creds.expiration) lines.push(["AWS_CREDENTIAL_EXPIRATION", formatRfc3339(creds.expiration)]);
  if (region) lines.push(["AWS_REGION", region], ["AWS_DEFAULT_REGION", region]);
  return lines;
}

/** What `export --format` accepts. */
export const EXPORT_FORMATS = ["env", "export-env", "json", "ini"] as const;

/** One of {@link EXPORT_FORMATS}. */
export type ExportFormat = typeof EXPORT_FORMATS[number];

/**
 * Renders credentials in an export format.
 * @param creds the credentials
 * @param options.format the format
 * @param options.profile the INI section name
 * @param options.region the region to include, if known
 */
export function formatCredentials(
  creds: Credentials,
  options: { format: ExportFormat; profile: string; region?: string },
): string {
  switch (options.format) {
    case "env":
      return envLines(creds, options.region).map(([k, v]) => `${k}=${v}\n`).join("");
    case "export-env":
      return envLines(creds, options.region).map(([k, v]) => `export ${k}=${v}\n`).join("");
    case "json": {
      // Key order and two-space indent as Go's json.MarshalIndent of aws-vault's struct.
      const out: Record<string, string | number> = {
        Version: 1,
        AccessKeyId: creds.accessKeyId,
        SecretAccessKey: creds.secretAccessKey,
      };
      if (creds.sessionToken) out.SessionToken = creds.sessionToken;
      if (creds.expiration) out.Expiration = formatRfc3339(creds.expiration);
      return JSON.stringify(out, null, 2) + "\n";
    }
    case "ini": {
      const entries: [string, string | undefined][] = [
        ["aws_access_key_id", creds.accessKeyId],
        ["aws_secret_access_key", creds.secretAccessKey],
        ["aws_session_token", creds.sessionToken],
        ["aws_credential_expiration", creds.expiration && formatRfc3339(creds.expiration)],
        ["region", options.region],
      ];
      return `[${options.profile}]\n` + entries.filter(([, v]) => v).map(([k, v]) => `${k}=${v}\n`).join("");
    }
  }
}
