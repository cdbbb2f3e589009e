/**
 * Child process for the file-backend crash and concurrency tests. Passphrase from AWS_VAULT_FILE_PASSPHRASE.
 *
 *   deno run -A tests/support/vault_writer.ts loop <dir> <key> <valueA> <valueB>
 *     writes `key` forever, alternating the two values; prints "ready" after the first write.
 *   deno run -A tests/support/vault_writer.ts batch <dir> <writer id> <count> <shared key>
 *     writes <count> distinct session items, then the shared key with the value "writer <id>".
 * @module
 */

import { FileKeyring } from "../../src/vault/file.ts";
import { SESSION_TYPES, SessionKeyring } from "../../src/vault/session_keyring.ts";
import type { VaultItem } from "../../src/vault/keyring.ts";

const [mode, dir, ...args] = Deno.args;
const keyring = new FileKeyring({ dir, env: Deno.env });
const item = (key: string, value: string): VaultItem => ({
  key,
  data: new TextEncoder().encode(value),
  label: `test item ${key}`,
  description: "",
  keychainNotTrustApplication: false,
  keychainNotSynchronizable: false,
});

if (mode === "loop") {
  const [key, a, b] = args;
  await keyring.set(item(key, a));
  console.log("ready");
  for (let i = 1;; i++) await keyring.set(item(key, i % 2 ? b : a));
} else if (mode === "batch") {
  const [id, count, shared] = args;
  const sessions = new SessionKeyring(keyring, { now: () => new Date() });
  for (let i = 0; i < Number(count); i++) {
    await sessions.set({ type: SESSION_TYPES.assumeRole, profileName: `writer${id}-${i}`, mfaSerial: "" }, {
      accessKeyId: `ASIA${id}X${i}`,
      secretAccessKey: `secret-${id}-${i}`,
      sessionToken: `token-${id}-${i}`,
      expiration: new Date(Date.now() + 3_600_000),
    });
  }
  await keyring.set(item(shared, `writer ${id}`));
} else {
  console.error(`usage: vault_writer.ts loop|batch <dir> ...`);
  Deno.exit(2);
}
