/**
 * Which certificate authorities the HTTPS calls trust, beside the roots Deno trusts by itself (its bundled Mozilla
 * roots, plus the operating system's store where the launcher sets `DENO_TLS_CA_STORE=system,mozilla`):
 *
 * - `SSL_CERT_FILE` and `SSL_CERT_DIR`, as Go (and so the Go aws-vault) and OpenSSL read them;
 * - `AWS_CA_BUNDLE`, or the profile's `ca_bundle`, as the AWS CLI and SDKs read them.
 *
 * Every HTTPS call the program makes goes through one of these clients: STS, IAM, SSO and SSO-OIDC through the SDK's
 * request handler, the console sign-in federation through {@link httpClient}. Behind a TLS-inspecting proxy any of
 * these ways to name its CA works (docs/tls.md).
 * @module
 */

import { type EnvSource, toEnv } from "../config/config_file.ts";
import { ConfigError } from "../errors.ts";
import { debug } from "../log.ts";

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

const cache = new Map<string, readonly string[]>();

function certificatesIn(path: string): readonly string[] {
  let certs = cache.get(path);
  if (!certs) {
    certs = Deno.readTextFileSync(path).match(PEM_CERTIFICATE) ?? [];
    cache.set(path, certs);
  }
  return certs;
}

/** A bundle the user named for AWS calls: it must be readable and hold certificates. */
function bundle(path: string, setting: string): readonly string[] {
  let certs: readonly string[];
  try {
    certs = certificatesIn(path);
  } catch (e) {
    throw new ConfigError(`${setting} ${path}: ${e instanceof Error ? e.message : e}`);
  }
  if (certs.length === 0) throw new ConfigError(`${setting} ${path}: no PEM certificates found`);
  return certs;
}

/**
 * Certificates from `SSL_CERT_FILE` and the files in `SSL_CERT_DIR` (colon-separated directories). These are
 * machine-wide settings a program may inherit without anyone meaning it for AWS, so a missing or unreadable one is a
 * debug note, as in Go, not an error.
 */
function sslCertEnvironment(env: ReturnType<typeof toEnv>): string[] {
  const certs: string[] = [];
  const file = env.get("SSL_CERT_FILE");
  if (file) {
    try {
      certs.push(...certificatesIn(file));
    } catch (e) {
      debug(`SSL_CERT_FILE ${file}: ${e instanceof Error ? e.message : e}`);
    }
  }
  for (const dir of (env.get("SSL_CERT_DIR") ?? "").split(":").filter(Boolean)) {
    try {
      for (const entry of Deno.readDirSync(dir)) {
        if (!entry.isFile && !entry.isSymlink) continue;
        try {
          certs.push(...certificatesIn(`${dir}/${entry.name}`));
        } catch {
          // not a readable certificate file; OpenSSL skips those too
        }
      }
    } catch (e) {
      debug(`SSL_CERT_DIR ${dir}: ${e instanceof Error ? e.message : e}`);
    }
  }
  return certs;
}

/**
 * The PEM certificates to trust for AWS calls besides Deno's own roots: `SSL_CERT_FILE`, `SSL_CERT_DIR`, and
 * `AWS_CA_BUNDLE` or else `caBundle` (the profile's `ca_bundle`, already overridden by `AWS_CA_BUNDLE` when a resolved
 * profile is given).
 * @throws ConfigError when `AWS_CA_BUNDLE` or `ca_bundle` cannot be read or holds no certificate
 */
export function trustedCertificates(options?: { env?: EnvSource; caBundle?: string }): string[] {
  const env = toEnv(options?.env);
  const certs = sslCertEnvironment(env);
  const fromEnv = env.get("AWS_CA_BUNDLE");
  if (fromEnv) certs.push(...bundle(fromEnv, "AWS_CA_BUNDLE"));
  else if (options?.caBundle) certs.push(...bundle(options.caBundle, "ca_bundle"));
  return [...new Set(certs)];
}

/**
 * An HTTP client trusting {@link trustedCertificates}, or undefined when there are none to add (the default client
 * then serves). Close it when done.
 */
export function httpClient(options?: { env?: EnvSource; caBundle?: string }): Deno.HttpClient | undefined {
  const caCerts = trustedCertificates(options);
  return caCerts.length > 0 ? Deno.createHttpClient({ caCerts }) : undefined;
}
