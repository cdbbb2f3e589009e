/**
 * Behind a TLS-inspecting proxy (tests/support/tls_proxy.ts), as a corporate network runs one: `export`, `exec` and
 * `login` work when the proxy's CA is given by SSL_CERT_FILE, SSL_CERT_DIR, AWS_CA_BUNDLE, the profile's `ca_bundle`
 * or the operating system's store, and fail naming the certificate problem when it is not trusted.
 */
import { equal, match, ok } from "node:assert/strict";
// Spawned, not in-process: the proxy variables and the system store are read by the process itself.
import { makeSandbox, runProgram } from "./support/cli.ts";
import { startFakeAws } from "./support/fake_aws/mod.ts";
import { ssoFake } from "./support/fake_aws/sso.ts";
import { CA_FILE, startInterceptingProxy } from "./support/tls_proxy.ts";

const root = new URL("../", import.meta.url).pathname;
const KEY = { userName: "u", accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG" };
const ROLE = "arn:aws:iam::111111111111:role/r";

async function setup() {
  const fake = await startFakeAws();
  fake.addUser(KEY);
  fake.addRole({ arn: ROLE });
  const proxy = startInterceptingProxy(fake.url);
  const sb = await makeSandbox({
    config: `[profile base]\nregion = eu-west-1\n\n[profile role]\nsource_profile = base\nrole_arn = ${ROLE}\n\n` +
      `[profile bundled]\nsource_profile = base\nrole_arn = ${ROLE}\nca_bundle = ${CA_FILE}\n`,
  });
  // Every AWS endpoint is an https:// name only the proxy can reach (*.aws.test does not resolve).
  const env = {
    ...sb.env,
    HTTPS_PROXY: proxy.url,
    AWS_ENDPOINT_URL: "https://sts.aws.test",
    AWS_ENDPOINT_URL_SIGNIN: "https://signin.aws.test/federation",
  };
  const added = await runProgram(["add", "--env", "base"], {
    env: { ...env, AWS_ACCESS_KEY_ID: KEY.accessKeyId, AWS_SECRET_ACCESS_KEY: KEY.secretAccessKey },
  });
  equal(added.code, 0, added.stderr);
  return {
    fake,
    proxy,
    sb,
    env,
    async [Symbol.asyncDispose]() {
      await proxy.close();
      await fake.close();
      await sb.cleanup();
    },
  };
}

function canUnshareMounts(): boolean {
  if (Deno.uid() !== 0) return false;
  try {
    return new Deno.Command("unshare", { args: ["-m", "true"], stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

function exported(r: { code: number; stdout: string; stderr: string }): string {
  equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout).AccessKeyId;
}

Deno.test("behind a TLS-inspecting proxy: its CA from SSL_CERT_FILE, SSL_CERT_DIR, AWS_CA_BUNDLE or ca_bundle", async () => {
  await using t = await setup();
  const exportRole = (extra: Record<string, string>, profile = "role") =>
    runProgram(["export", "--no-cache", "--format=json", profile], { env: { ...t.env, ...extra } });

  const untrusted = await exportRole({});
  equal(untrusted.code, 1);
  match(
    untrusted.stderr,
    /sts:AssumeRole failed: could not reach https:\/\/sts\.aws\.test: .*(certificate|UnknownIssuer)/i,
  );

  const dir = await Deno.makeTempDir({ prefix: "aws-vault-certs-" });
  try {
    await Deno.copyFile(CA_FILE, `${dir}/0a1b2c3d.0`);
    const ways: Record<string, string>[] = [
      { SSL_CERT_FILE: CA_FILE },
      { SSL_CERT_DIR: `/nonexistent:${dir}` },
      { AWS_CA_BUNDLE: CA_FILE },
    ];
    for (const extra of ways) {
      match(exported(await exportRole(extra)), /^ASIA/, JSON.stringify(extra));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  match(exported(await exportRole({}, "bundled")), /^ASIA/, "ca_bundle in the profile");
  const missing = await exportRole({ AWS_CA_BUNDLE: "/nonexistent.pem" });
  match(missing.stderr, /^aws-vault: error: export: AWS_CA_BUNDLE \/nonexistent\.pem: /);

  // exec hands the command credentials fetched through the proxy.
  const exec = await runProgram(["exec", "--no-cache", "role", "--", "sh", "-c", 'echo "$AWS_ACCESS_KEY_ID"'], {
    env: { ...t.env, SSL_CERT_FILE: CA_FILE },
  });
  equal(exec.code, 0, exec.stderr);
  match(exec.stdout, /^ASIA/);

  // login: the sign-in token comes from the federation endpoint through the same trust.
  const login = await runProgram(["login", "role", "--stdout"], { env: { ...t.env, SSL_CERT_FILE: CA_FILE } });
  equal(login.code, 0, login.stderr);
  match(login.stdout, /^https:\/\/signin\.aws\.test\/federation\?Action=login&/);
  equal(t.fake.callsTo("getSigninToken").length, 1);
  ok(t.proxy.connects.includes("sts.aws.test:443") && t.proxy.connects.includes("signin.aws.test:443"));
});

Deno.test("behind a TLS-inspecting proxy: IAM Identity Center login and role credentials", async () => {
  await using t = await setup();
  // The fake keeps its SSO side per Host header, and behind the proxy that is the endpoint's name.
  ssoFake({ url: "https://sts.aws.test" }).assign("123456789012", "Admin");
  const config = await Deno.readTextFile(t.sb.configPath);
  await Deno.writeTextFile(
    t.sb.configPath,
    config + "\n[profile sso]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n" +
      "sso_account_id = 123456789012\nsso_role_name = Admin\nregion = eu-west-1\n",
  );
  // The browser: it reaches the (proxied) authorize page trusting the proxy's CA, then aws-vault's loopback listener.
  const bin = `${t.sb.home}/bin`;
  await Deno.mkdir(bin);
  await Deno.writeTextFile(
    `${bin}/xdg-open`,
    `#!/bin/sh\nexec curl -s -L --cacert ${CA_FILE} --proxy ${t.proxy.url} --noproxy 127.0.0.1 -o /dev/null "$1"\n`,
  );
  await Deno.chmod(`${bin}/xdg-open`, 0o755);
  const r = await runProgram(["export", "--format=json", "sso"], {
    env: { ...t.env, PATH: `${bin}:${t.sb.env.PATH}`, SSL_CERT_FILE: CA_FILE },
  });
  match(exported(r), /^ASIA/);
  equal(t.fake.callsTo("CreateToken").length, 1);
  equal(t.fake.callsTo("GetRoleCredentials").length, 1);
});

Deno.test({
  name:
    "behind a TLS-inspecting proxy: its CA installed in the system store (DENO_TLS_CA_STORE as the launcher sets it)",
  // Needs a private mount namespace: root, and a kernel that lets this process make one.
  ignore: !canUnshareMounts(),
  fn: async () => {
    await using t = await setup();
    // A private mount namespace where the system bundle also holds the proxy's CA, as `update-ca-certificates` would.
    const system = "/etc/ssl/certs/ca-certificates.crt";
    const bundle = await Deno.makeTempFile({ suffix: ".crt" });
    try {
      const existing = await Deno.readTextFile(system).catch(() => "");
      await Deno.writeTextFile(bundle, existing + "\n" + await Deno.readTextFile(CA_FILE));
      const script = `mount --bind "$1" ${system} && shift && exec "$@"`;
      const command = [
        Deno.execPath(),
        "run",
        "-A",
        "--quiet",
        `${root}main.ts`,
        "export",
        "--no-cache",
        "--format=json",
      ];
      const exportInNamespace = async (extra: Record<string, string>) => {
        const out = await new Deno.Command("unshare", {
          args: ["-m", "--propagation", "private", "sh", "-c", script, "sh", bundle, ...command, "role"],
          env: { ...t.env, ...extra },
          clearEnv: true,
          cwd: t.sb.home,
          stdout: "piped",
          stderr: "piped",
        }).output();
        const text = (b: Uint8Array) => new TextDecoder().decode(b);
        return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
      };
      // Deno's own roots alone do not know the CA; with the system store (what the launcher asks for) it works.
      const mozillaOnly = await exportInNamespace({});
      equal(mozillaOnly.code, 1, mozillaOnly.stdout);
      match(mozillaOnly.stderr, /certificate|UnknownIssuer/i);
      match(exported(await exportInNamespace({ DENO_TLS_CA_STORE: "mozilla,system" })), /^ASIA/);
    } finally {
      await Deno.remove(bundle);
    }
  },
});
