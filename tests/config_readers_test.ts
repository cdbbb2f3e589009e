/**
 * The config file read as the Go aws-vault reads it, checked against the real readers: go-ini with aws-vault's load
 * options (tests/support/go/goini.go, Debian's golang-gopkg-ini.v1-dev) and the AWS CLI's botocore. Every value reads
 * as go-ini reads it; where botocore reads another value, ours records that reading, and resolving a profile that
 * uses it is an error naming the line and both readings (tests/fixtures/config/real_world.ini).
 */
import { deepStrictEqual, equal, match, ok, throws } from "node:assert/strict";
import { parseIni } from "../src/config/ini.ts";
import { loadConfigFileSync } from "../src/config/config_file.ts";
import { resolveProfile } from "../src/config/profile.ts";
import { ConfigError } from "../src/core/errors.ts";
import { envFromRecord } from "../src/core/env.ts";

const FIXTURE = new URL("./fixtures/config/real_world.ini", import.meta.url).pathname;
const BACKSLASH = new URL("./fixtures/config/backslash.ini", import.meta.url).pathname;
const GO_SOURCE = new URL("./support/go/goini.go", import.meta.url).pathname;
const decoder = new TextDecoder();

type Sections = Record<string, Record<string, string>>;

/** go-ini's reading, or undefined (with the reason printed) when Go or go-ini is not installed. */
async function goIni(path: string): Promise<Sections | undefined> {
  const out = await new Deno.Command("go", {
    args: ["run", GO_SOURCE, path],
    env: {
      GO111MODULE: "off",
      GOPATH: "/usr/share/gocode",
      HOME: Deno.env.get("HOME") ?? "/tmp",
      PATH: "/usr/bin:/bin",
    },
    stdout: "piped",
    stderr: "piped",
  }).output().catch(() => undefined);
  if (!out?.success) {
    console.log(`skipping go-ini comparison: ${out ? decoder.decode(out.stderr).trim() : "go not installed"}`);
    return undefined;
  }
  const result = JSON.parse(decoder.decode(out.stdout)) as { sections: [string, Record<string, string>][] };
  return Object.fromEntries(result.sections.filter(([name]) => name !== "DEFAULT"));
}

/** botocore's reading (the AWS CLI's): the sections, a parse error, or undefined when botocore is not installed. */
async function botocore(path: string): Promise<Sections | { error: string } | undefined> {
  const script = "import sys, json, botocore.configloader as c, botocore.exceptions as x\n" +
    "try: print(json.dumps(c.raw_config_parse(sys.argv[1])))\n" +
    "except x.ConfigParseError as e: print(json.dumps({'error': str(e)}))";
  const out = await new Deno.Command("/usr/bin/python3", {
    args: ["-c", script, path],
    stdout: "piped",
    stderr: "piped",
  }).output().catch(() => undefined);
  if (!out?.success) {
    console.log("skipping the AWS CLI comparison: botocore is not installed for /usr/bin/python3");
    return undefined;
  }
  return JSON.parse(decoder.decode(out.stdout));
}

function ours(path: string): Record<string, Record<string, { value: string; alternative?: string }>> {
  const text = Deno.readTextFileSync(path);
  return Object.fromEntries(
    parseIni(text).map((s) => [s.name, Object.fromEntries([...s.entries].filter(([, e]) => !e.nested))]),
  );
}

Deno.test("every value reads as go-ini reads it; where the AWS CLI reads otherwise, that reading is kept", async () => {
  const go = await goIni(FIXTURE);
  const cli = await botocore(FIXTURE) as Sections | undefined;
  const mine = ours(FIXTURE);
  if (go) {
    for (const [section, keys] of Object.entries(mine)) {
      for (const [key, entry] of Object.entries(keys)) {
        equal(entry.value, go[section]?.[key], `[${section}] ${key}: go-ini`);
      }
    }
    deepStrictEqual(Object.keys(mine), Object.keys(go), "the same sections");
  }
  if (cli) {
    const differing: string[] = [];
    for (const [section, keys] of Object.entries(mine)) {
      for (const [key, entry] of Object.entries(keys)) {
        const theirs: string | undefined = cli[section]?.[key]?.replace(/\s+[#;].*$/, "");
        if (entry.alternative !== undefined) equal(entry.alternative, theirs, `[${section}] ${key}: botocore`);
        if (theirs !== undefined && theirs !== entry.value) differing.push(`${section}.${key}`);
      }
    }
    // Where the readings differ and no alternative is kept, the AWS CLI's reading is not a value any setting accepts:
    // the quotes it keeps.
    deepStrictEqual(differing.sort(), [
      "profile hashed-source.source_profile",
      "profile process.credential_process",
      "profile quoted.external_id",
      "profile quoted.region",
      "profile quoted.role_arn",
      "profile sneaky.role_arn",
      "sso-session corp.sso_start_url",
    ]);
  }
});

Deno.test("a value continued with backslashes: joined as go-ini joins it; the AWS CLI rejects the file", async () => {
  const go = await goIni(BACKSLASH);
  const mine = ours(BACKSLASH);
  equal(mine["profile long-arn"].role_arn.value, "arn:aws:iam::333333333333:role/VeryLongRoleNameThatIsSplit");
  if (go) {
    deepStrictEqual(go["profile long-arn"], {
      source_profile: "base",
      role_arn: mine["profile long-arn"].role_arn.value,
    });
  }
  const cli = await botocore(BACKSLASH);
  if (cli) ok("error" in cli, "botocore cannot parse it");
  const file = loadConfigFileSync({ path: BACKSLASH, env: envFromRecord({}) });
  equal(resolveProfile(file, "long-arn", { env: envFromRecord({}) }).roleArn, mine["profile long-arn"].role_arn.value);
});

Deno.test("resolution: Go's readings; a value the two tools read differently is an error naming both", () => {
  const file = loadConfigFileSync({ path: FIXTURE, env: envFromRecord({}) });
  const resolve = (name: string) => resolveProfile(file, name, { env: envFromRecord({}) });
  equal(resolve("default").region, "eu-west-1");
  const sso = resolve("sso-dev");
  equal(sso.ssoStartUrl, "https://corp.awsapps.com/start/", "a fragment on the portal URL is dropped, as Go does");
  equal(sso.region, "eu-central-1");
  const quoted = resolve("quoted");
  equal(quoted.roleArn, "arn:aws:iam::222222222222:role/Quoted");
  equal(quoted.externalId, "ext-123");
  equal(quoted.region, "us-east-1");
  equal(resolve("base").region, "us-west-2");
  for (
    const [name, key, go, cli] of [
      [
        "process",
        "credential_process",
        "/usr/local/bin/get-creds --profile corp",
        "/usr/local/bin/get-creds --profile corp;echo",
      ],
      ["sneaky", "role_arn", "arn:aws:iam::444444444444:role/Admin", "arn:aws:iam::444444444444:role/Admin;ReadOnly"],
      ["hashed-source", "source_profile", "team", "team#prod"],
    ]
  ) {
    throws(() => resolve(name), (e) => {
      ok(e instanceof ConfigError);
      match(e.message, new RegExp(`^${FIXTURE}:\\d+: ${key} reads `));
      ok(e.message.includes(`${JSON.stringify(go)} for the Go aws-vault but ${JSON.stringify(cli)} for the AWS CLI`));
      return true;
    });
  }
});
