/**
 * Which certificate authorities the HTTPS calls trust, beside the roots Deno trusts by itself (its bundled Mozilla
 * roots, plus the operating system's store where the launcher sets `DENO_TLS_CA_STORE=mozilla,system`):
 *
 * - `SSL_CERT_FILE` and `SSL_CERT_DIR`, as Go (and so the Go aws-vault) and OpenSSL read them;
 * - the profile's `caBundle`: `AWS_CA_BUNDLE`, else its `ca_bundle` setting (profile resolution applies that order).
 *
 * Every HTTPS call the program makes goes through one of these: STS, IAM, SSO and SSO-OIDC through the SDK's request
 * handler, the console sign-in federation through {@link httpClient} (docs/tls.md).
 * @module
 */

import type { Env } from "../core/env.ts";
import { ConfigError } from "../core/errors.ts";
import { type Logger, SILENT } from "../core/log.ts";

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Certificates of `SSL_CERT_FILE` and the files in `SSL_CERT_DIR` (colon-separated directories), by the two values:
 * a process lists them once, however many clients it makes. Each real file is read once (a hashed-name link and the
 * file it points to are one file). They are machine-wide settings a program may inherit without anyone meaning them
 * for AWS, so a missing or unreadable one is a debug note, as in Go, not an error.
 */
const sslCertCache = new Map<string, readonly string[]>();

function sslCertEnvironment(
  file: string | undefined,
  dirs: string | undefined,
  options: { log: Logger },
): readonly string[] {
  const key = `${file ?? ""}\0${dirs ?? ""}`;
  const cached = sslCertCache.get(key);
  if (cached) return cached;
  const seen = new Set<string>();
  const certs: string[] = [];
  const read = (path: string) => {
    const real = Deno.realPathSync(path);
    if (seen.has(real)) return;
    seen.add(real);
    certs.push(...Deno.readTextFileSync(real).match(PEM_CERTIFICATE) ?? []);
  };
  if (file) {
    try {
      read(file);
    } catch (e) {
      options.log.debug(`SSL_CERT_FILE ${file}: ${e instanceof Error ? e.message : e}`);
    }
  }
  for (const dir of (dirs ?? "").split(":").filter(Boolean)) {
    try {
      for (const entry of Deno.readDirSync(dir)) {
        if (!entry.isFile && !entry.isSymlink) continue;
        try {
          read(`${dir}/${entry.name}`);
        } catch {
          // a dangling link or an unreadable file; OpenSSL and Go skip those too
        }
      }
    } catch (e) {
      options.log.debug(`SSL_CERT_DIR ${dir}: ${e instanceof Error ? e.message : e}`);
    }
  }
  sslCertCache.set(key, certs);
  return certs;
}

/** A bundle the user named for AWS calls: it must be readable and hold certificates. */
function bundle(path: string, setting: string): readonly string[] {
  let certs: readonly string[];
  try {
    certs = Deno.readTextFileSync(path).match(PEM_CERTIFICATE) ?? [];
  } catch (e) {
    throw new ConfigError(`${setting} ${path}: ${e instanceof Error ? e.message : e}`);
  }
  if (certs.length === 0) throw new ConfigError(`${setting} ${path}: no PEM certificates found`);
  return certs;
}

/**
 * The PEM certificates to trust for AWS calls besides Deno's own roots: `SSL_CERT_FILE`, `SSL_CERT_DIR` and
 * `caBundle` (a resolved profile's, which is `AWS_CA_BUNDLE` when that is set).
 * `options.log` receives the notes on unreadable `SSL_CERT_FILE`/`SSL_CERT_DIR` entries (silent when not given).
 * @throws ConfigError when the bundle cannot be read or holds no certificate (naming `AWS_CA_BUNDLE` or `ca_bundle`)
 */
export function trustedCertificates(options: { env: Env; caBundle?: string; log?: Logger }): string[] {
  const env = options.env;
  const log = options.log ?? SILENT;
  const certs = [...sslCertEnvironment(env.get("SSL_CERT_FILE"), env.get("SSL_CERT_DIR"), { log })];
  const path = options?.caBundle;
  if (path) certs.push(...bundle(path, env.get("AWS_CA_BUNDLE") === path ? "AWS_CA_BUNDLE" : "ca_bundle"));
  return [...new Set(certs)];
}

/**
 * An HTTP client trusting {@link trustedCertificates}, or undefined when there are none to add (the default client
 * then serves). Close it when done.
 */
export function httpClient(options: { env: Env; caBundle?: string; log?: Logger }): Deno.HttpClient | undefined {
  const caCerts = trustedCertificates(options);
  return caCerts.length > 0 ? Deno.createHttpClient({ caCerts }) : undefined;
}
