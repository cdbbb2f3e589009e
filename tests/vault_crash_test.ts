/**
 * Real processes against the file backend: writers SIGKILLed mid-write never leave a torn item, and concurrent
 * writers never corrupt or lose items.
 */
import assert from "node:assert/strict";
import { FileKeyring, TEMP_PREFIX } from "../src/vault/file.ts";
import { listKeys } from "../src/vault/keyring.ts";
import { SessionKeyring } from "../src/vault/session_keyring.ts";
import { envFromRecord } from "../src/core/env.ts";

const WRITER = new URL("./support/vault_writer.ts", import.meta.url).pathname;
const PASSPHRASE = "crash test passphrase";
const dec = new TextDecoder();
const keyringFor = (dir: string) =>
  new FileKeyring({ dir, env: envFromRecord({ AWS_VAULT_FILE_PASSPHRASE: PASSPHRASE }) });

function spawnWriter(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", WRITER, ...args],
    env: { AWS_VAULT_FILE_PASSPHRASE: PASSPHRASE },
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

async function waitForReady(child: Deno.ChildProcess): Promise<void> {
  const reader = child.stdout.getReader();
  let text = "";
  try {
    while (!text.includes("ready")) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`writer exited before it was ready (${JSON.stringify(await child.status)})`);
      text += dec.decode(value);
    }
  } finally {
    reader.releaseLock();
  }
}

Deno.test("a writer SIGKILLed at random moments leaves the old or the new item, never a torn one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vault_crash_" });
  try {
    const key = "crash/key%";
    const values = ["A".repeat(1500), "B".repeat(2500)];
    const delays: number[] = [];
    for (let round = 0; round < 12; round++) {
      const child = spawnWriter(["loop", dir, key, ...values]);
      await waitForReady(child);
      const delay = 5 + Math.floor(Math.random() * 76);
      delays.push(delay);
      await new Promise((resolve) => setTimeout(resolve, delay));
      child.kill("SIGKILL");
      await child.status;
      await child.stdout.cancel();

      const context = `round ${round}, delays ${delays.join(",")}`;
      const item = await keyringFor(dir).get(key);
      assert.ok(values.includes(dec.decode(item.data)), context);
      const listing = await listKeys(keyringFor(dir));
      assert.deepEqual(listing, { keys: [key], problems: [] }, context);
    }
    const leftovers = [...Deno.readDirSync(dir)].filter((e) => e.name.startsWith(TEMP_PREFIX)).length;
    console.log(`kill delays (ms): ${delays.join(", ")}; temporary files left by killed writers: ${leftovers}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("6 concurrent writers: every item present and readable, the shared key holds one writer's value", async () => {
  const dir = await Deno.makeTempDir({ prefix: "vault_concurrent_" });
  try {
    const writers = 6;
    const perWriter = 10;
    const children = Array.from(
      { length: writers },
      (_, id) => spawnWriter(["batch", dir, String(id), String(perWriter), "shared"]),
    );
    const statuses = await Promise.all(children.map(async (c) => {
      await c.stdout.cancel();
      return await c.status;
    }));
    assert.deepEqual(statuses.map((s) => s.code), Array(writers).fill(0));

    const keyring = keyringFor(dir);
    const listing = await listKeys(keyring);
    assert.deepEqual(listing.problems, []);
    assert.equal(listing.keys.length, writers * perWriter + 1);
    assert.deepEqual([...Deno.readDirSync(dir)].filter((e) => e.name.startsWith(TEMP_PREFIX)), []);

    const sessions = new SessionKeyring(keyring, { now: () => new Date() });
    const keys = await sessions.list();
    assert.equal(keys.length, writers * perWriter);
    for (let id = 0; id < writers; id++) {
      for (let i = 0; i < perWriter; i++) {
        const found = await sessions.get({ type: "sts.AssumeRole", profileName: `writer${id}-${i}`, mfaSerial: "" });
        assert.equal(found?.credentials.secretAccessKey, `secret-${id}-${i}`);
      }
    }
    const shared = dec.decode((await keyring.get("shared")).data);
    assert.ok(Array.from({ length: writers }, (_, id) => `writer ${id}`).includes(shared), shared);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
