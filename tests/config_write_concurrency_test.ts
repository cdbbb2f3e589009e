/**
 * Writers of ~/.aws/config in many processes at once (docs/behaviour.md#writing-the-config-file): every section
 * lands, and temporary files left by a killed writer are removed by the next one.
 */
import { deepStrictEqual, equal } from "node:assert/strict";
import { parseConfigFile } from "../src/config/config_file.ts";
import { appendProfileSection } from "../src/config/config_write.ts";

const writer = new URL("../src/config/config_write.ts", import.meta.url).href;

/** Starts `processes` processes that each append `sections` profiles to `path`, all at once. */
async function writeConcurrently(path: string, options: { processes: number; sections: number }): Promise<void> {
  const runs = Array.from({ length: options.processes }, (_, p) => {
    const script = `import { appendProfileSection } from ${JSON.stringify(writer)};` +
      `for (let i = 0; i < ${options.sections}; i++) ` +
      `await appendProfileSection(${
        JSON.stringify(path)
      }, "p${p}-" + i, { entries: [["mfa_serial", "arn:p${p}-" + i]] });`;
    return new Deno.Command(Deno.execPath(), { args: ["eval", script], stdout: "null" }).output();
  });
  for (const run of await Promise.all(runs)) equal(run.code, 0, new TextDecoder().decode(run.stderr));
}

Deno.test("8 processes × 100 sections appended to one config at once: none lost, each intact", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/config`;
    await Deno.writeTextFile(path, "[default]\nregion = eu-west-1\n");
    await writeConcurrently(path, { processes: 8, sections: 100 });
    const config = parseConfigFile(await Deno.readTextFile(path), { path });
    const missing: string[] = [];
    for (let p = 0; p < 8; p++) {
      for (let i = 0; i < 100; i++) {
        if (config.profile(`p${p}-${i}`)?.get("mfa_serial")?.value !== `arn:p${p}-${i}`) missing.push(`p${p}-${i}`);
      }
    }
    deepStrictEqual(missing, []);
    equal(config.profile("default")?.get("region")?.value, "eu-west-1");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a temp file left by a killed writer is removed by the next writer; others' files are not", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/config`;
    await Deno.writeTextFile(path, "[default]\n");
    await Deno.writeTextFile(`${dir}/config.0a1b2c3d.tmp`, "[default]\n[profile half");
    await Deno.writeTextFile(`${dir}/config.backup`, "mine");
    await appendProfileSection(path, "next", { entries: [] });
    deepStrictEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      [".config.aws-vault.lock", "config", "config.backup"],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
