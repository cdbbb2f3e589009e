import { deepStrictEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { parseIni } from "../src/config/ini.ts";
import { configFilePath, loadConfigFile, parseConfigFile } from "../src/config/config_file.ts";
import { appendProfileSection } from "../src/config/config_write.ts";
import { ConfigError } from "../src/core/errors.ts";
import { envFromRecord } from "../src/core/env.ts";

const PATH = "/home/u/.aws/config";

function values(text: string, section: string): Record<string, string> {
  const s = parseIni(text, { path: PATH }).find((x) => x.name === section);
  ok(s, `section ${section} missing`);
  return Object.fromEntries([...s.entries].map(([k, v]) => [k, v.value]));
}

function parseError(text: string): string {
  try {
    parseIni(text, { path: PATH });
  } catch (e) {
    ok(e instanceof ConfigError);
    return e.message;
  }
  throw new Error("expected a ConfigError");
}

Deno.test("ini: key=value forms, trimming, lowercase keys, empty values", () => {
  const text = "[profile a]\n region=us-east-1\n Output   =   json  \n MFA_Serial: arn:aws:iam::1:mfa/x\n empty =\n";
  deepStrictEqual(values(text, "profile a"), {
    region: "us-east-1",
    output: "json",
    mfa_serial: "arn:aws:iam::1:mfa/x",
    empty: "",
  });
});

Deno.test("ini: comments, quotes and backslash continuations as go-ini reads them; the AWS CLI's other reading kept", () => {
  const text = [
    "# top comment",
    "; another",
    "[profile a] # header comment",
    "  # indented comment",
    "region = eu-west-1 # inline",
    "output = json ; inline",
    "sso_start_url = https://x.awsapps.com/start/#/",
    "hash=a#b;c",
    "tabbed = v\t# tab comment",
    "only = # just a comment",
    "nospace =#dropped",
    'double = "quoted # not a comment"',
    "single = 'quoted'",
    'half = "open',
    "joined = arn:aws:iam::111111111111:\\",
    "  role/\\",
    "admin",
    "after = x",
  ].join("\n");
  deepStrictEqual(values(text, "profile a"), {
    region: "eu-west-1",
    output: "json",
    sso_start_url: "https://x.awsapps.com/start/",
    hash: "a",
    tabbed: "v",
    only: "",
    nospace: "",
    double: "quoted # not a comment",
    single: "quoted",
    half: '"open',
    joined: "arn:aws:iam::111111111111:role/admin",
    after: "x",
  });
  const entries = parseIni(text)[0].entries;
  equal(entries.get("sso_start_url")?.alternative, "https://x.awsapps.com/start/#/");
  equal(entries.get("hash")?.alternative, "a#b;c");
  equal(entries.get("nospace")?.alternative, "#dropped");
  equal(entries.get("region")?.alternative, undefined, "a comment after a space reads the same for both");
  equal(entries.get("double")?.alternative, undefined);
});

Deno.test("ini: nested values and continuation lines", () => {
  const text = [
    "[services local]",
    "sts =",
    "  endpoint_url = http://127.0.0.1:4566 # comment",
    "  Other_Key = x",
    "iam =",
    "    endpoint_url = http://127.0.0.1:4567",
    "[profile a]",
    "credential_process = my-tool",
    "    --flag value",
    "    --other",
    "region = us-east-1",
  ].join("\n");
  const [services, profile] = parseIni(text, { path: PATH });
  deepStrictEqual(
    services.entries.get("sts")?.nested,
    new Map([["endpoint_url", "http://127.0.0.1:4566"], [
      "other_key",
      "x",
    ]]),
  );
  equal(services.entries.get("sts")?.value, "");
  deepStrictEqual(services.entries.get("iam")?.nested, new Map([["endpoint_url", "http://127.0.0.1:4567"]]));
  equal(profile.entries.get("credential_process")?.value, "my-tool\n--flag value\n--other");
  equal(profile.entries.get("region")?.value, "us-east-1");
});

Deno.test("ini: keys indented at the same depth are separate keys; deeper lines continue the key (AWS CLI)", () => {
  deepStrictEqual(values("[profile a]\n  region = x\n  output = y\n", "profile a"), { region: "x", output: "y" });
  deepStrictEqual(values("[profile a]\nregion = x\n  output = y\n", "profile a"), { region: "x\noutput = y" });
});

Deno.test("ini: CRLF line endings and a UTF-8 BOM", () => {
  const text = "\uFEFF[default]\r\nregion = us-west-2\r\n\r\n[profile b]\r\nrole_arn = arn:aws:iam::1:role/r\r\n";
  deepStrictEqual(values(text, "default"), { region: "us-west-2" });
  deepStrictEqual(values(text, "profile b"), { role_arn: "arn:aws:iam::1:role/r" });
});

Deno.test("ini: repeated key keeps the last value", () => {
  deepStrictEqual(values("[profile a]\nregion = a\nregion = b\n", "profile a"), { region: "b" });
});

Deno.test("ini: malformed lines name file and line", () => {
  equal(parseError("[profile a]\nregion = x\noops\n"), `${PATH}:3: expected "key = value" or "[section]", got "oops"`);
  equal(parseError("\n\nregion = x\n"), `${PATH}:3: setting outside of any [section], got "region = x"`);
  equal(parseError("[profile a]\n[profile b\n"), `${PATH}:2: unterminated section header, got "[profile b"`);
  equal(parseError("[profile a] junk\n"), `${PATH}:1: unexpected text after section header, got "[profile a] junk"`);
  equal(parseError("[ ]\n"), `${PATH}:1: empty section name []`);
  equal(parseError("[a]\n= value\n"), `${PATH}:2: expected "key = value" or "[section]", got "= value"`);
  equal(parseError("[a]\ns3 =\n  nokey\n"), `${PATH}:3: expected a nested "key = value" under "s3", got "nokey"`);
  equal(
    parseError(`[a]\n${"x".repeat(100)}\n`),
    `${PATH}:2: expected "key = value" or "[section]", got "${"x".repeat(40)}…"`,
  );
  throws(() => parseIni("oops"), /^ConfigError: <config>:1: /);
});

Deno.test("config file: section kinds, names, ignored sections", () => {
  const file = parseConfigFile(
    [
      "[default]",
      "output = json",
      "[profile   spaced name  ]",
      "region = a",
      "[profile\ttabbed]",
      "[credentials-style]",
      "region = x",
      "[profile default]",
      "region = ignored",
      "[profile]",
      "[sso-session corp]",
      "sso_start_url = https://corp.awsapps.com/start/#/",
      "[services local]",
      "sts =",
      "  endpoint_url = http://localhost",
      "[profile Prod]",
      "[profile prod]",
    ].join("\n"),
    { path: PATH },
  );
  // `[profile default]` lists `default` (as the Go aws-vault lists it) without being read.
  deepStrictEqual(file.profileNames(), ["default", "spaced name", "tabbed", "Prod", "prod"]);
  deepStrictEqual(file.ssoSessionNames(), ["corp"]);
  ok(file.hasSection("default"));
  ok(file.hasSection("tabbed"));
  ok(!file.hasSection("credentials-style"));
  equal(file.profile("default")?.get("region"), undefined); // [profile default] is not [default]
  equal(file.ssoSession("corp")?.get("sso_start_url")?.value, "https://corp.awsapps.com/start/");
  equal(file.services("local")?.get("sts")?.nested?.get("endpoint_url"), "http://localhost");
});

Deno.test("config file: [default] is listed when it sets a recognised key or [profile default] exists, once", () => {
  deepStrictEqual(parseConfigFile("[default]\nregion = x\n[profile a]\n").profileNames(), ["default", "a"]);
  deepStrictEqual(parseConfigFile("[default]\nregion =\n[profile a]\n").profileNames(), ["a"]);
  deepStrictEqual(parseConfigFile("[profile a]\n[profile default]\nregion = y\n").profileNames(), ["a", "default"]);
  deepStrictEqual(parseConfigFile("[default]\nregion = x\n[profile default]\n[default]\n").profileNames(), ["default"]);
});

Deno.test("config file: duplicate sections merge, later keys win, first position kept", () => {
  const file = parseConfigFile("[profile a]\nregion = x\nmfa_serial = m\n[profile b]\n[profile a]\nregion = y\n");
  deepStrictEqual(file.profileNames(), ["a", "b"]);
  equal(file.profile("a")?.get("region")?.value, "y");
  equal(file.profile("a")?.get("mfa_serial")?.value, "m");
});

Deno.test("config file: path from AWS_CONFIG_FILE or HOME", () => {
  equal(configFilePath(envFromRecord({ HOME: "/home/u" })), "/home/u/.aws/config");
  equal(configFilePath(envFromRecord({ HOME: "/home/u", AWS_CONFIG_FILE: "/etc/aws" })), "/etc/aws");
  equal(configFilePath(envFromRecord({ HOME: "/home/u", AWS_CONFIG_FILE: "~/cfg" })), "/home/u/cfg");
  throws(() => configFilePath(envFromRecord({})), ConfigError);
});

Deno.test("config file: a missing file reads as empty and is not created", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = await loadConfigFile({ env: envFromRecord({ HOME: dir }) });
    equal(file.path, `${dir}/.aws/config`);
    deepStrictEqual(file.profileNames(), []);
    await rejects(Deno.stat(`${dir}/.aws`), Deno.errors.NotFound);
    await Deno.writeTextFile(`${dir}/c`, "[profile x]\nregion = r\n");
    deepStrictEqual(
      (await loadConfigFile({ env: envFromRecord({ HOME: "/nonexistent", AWS_CONFIG_FILE: `${dir}/c` }) }))
        .profileNames(),
      [
        "x",
      ],
    );
    await Deno.writeTextFile(`${dir}/bad`, "[profile x]\nbad line\n");
    await rejects(loadConfigFile({ path: `${dir}/bad`, env: envFromRecord({}) }), {
      message: `${dir}/bad:2: expected "key = value" or "[section]", got "bad line"`,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("appendProfileSection: keeps every existing byte and appends one section", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/config`;
    const original = "# my config\n[default]\nregion = eu-west-1 ; keep me\n\n;trailing comment";
    await Deno.writeTextFile(path, original);
    await Deno.chmod(path, 0o640);
    await appendProfileSection(path, "work", { entries: [["region", "us-east-1"], ["mfa_serial", "arn:x"]] });
    const after = await Deno.readTextFile(path);
    equal(after, `${original}\n\n[profile work]\nregion = us-east-1\nmfa_serial = arn:x\n`);
    equal((await Deno.stat(path)).mode! & 0o777, 0o640);
    await appendProfileSection(path, "default", { entries: [] });
    equal(await Deno.readTextFile(path), `${after}\n[default]\n`);
    // No temp file left; the writers' lock file stays (removing it could let two writers in at once).
    deepStrictEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [".config.aws-vault.lock", "config"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("appendProfileSection: CRLF files get CRLF; files ending in a blank line get no extra one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/config`;
    await Deno.writeTextFile(path, "[default]\r\nregion = x\r\n");
    await appendProfileSection(path, "a", { entries: [["region", "y"]] });
    equal(await Deno.readTextFile(path), "[default]\r\nregion = x\r\n\r\n[profile a]\r\nregion = y\r\n");
    await Deno.writeTextFile(path, "[default]\n\n");
    await appendProfileSection(path, "b", { entries: [] });
    equal(await Deno.readTextFile(path), "[default]\n\n[profile b]\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("appendProfileSection: creates a missing directory 0700 and file 0600", async () => {
  const dir = await Deno.makeTempDir();
  const umask = Deno.umask(0o022);
  try {
    const path = `${dir}/new/.aws/config`;
    await appendProfileSection(path, "a", { entries: [["region", "r"]] });
    equal(await Deno.readTextFile(path), "[profile a]\nregion = r\n");
    equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    equal((await Deno.stat(`${dir}/new/.aws`)).mode! & 0o777, 0o700);
  } finally {
    Deno.umask(umask);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("appendProfileSection: writes through a symlink and refuses values that would not read back", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/real`, "[default]\n");
    await Deno.symlink(`${dir}/real`, `${dir}/link`);
    await appendProfileSection(`${dir}/link`, "a", { entries: [] });
    ok((await Deno.lstat(`${dir}/link`)).isSymlink);
    equal(await Deno.readTextFile(`${dir}/real`), "[default]\n\n[profile a]\n");
    for (
      const [name, entries] of [
        ["b", [["k", "line\nbreak"]]],
        ["b", [["k", "v # comment"]]],
        ["b", [["k", " padded"]]],
        ["b", [["Key", "v"]]],
        ["b]", []],
        [" b", []],
        ["", []],
      ] as [string, [string, string][]][]
    ) {
      await rejects(appendProfileSection(`${dir}/real`, name, { entries }), ConfigError);
    }
    equal(await Deno.readTextFile(`${dir}/real`), "[default]\n\n[profile a]\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
