/**
 * The first run with no backend chosen (docs/guide.md#backends): the Go aws-vault prefers secret-service on Linux, we
 * use the encrypted file store, so the first command that opens it says which store and how to choose another, once.
 */
import { equal, ok } from "node:assert/strict";
import { makeSandbox, runCli } from "./support/cli.ts";
import { docBlock } from "./support/doc_examples.ts";

/** The note as the README shows it to a desktop user. */
const NOTE = docBlock("README.md", "readme-backend-note").text;

const linuxOnly = { ignore: Deno.build.os !== "linux" };

/**
 * The sandbox's environment as a desktop user who has chosen nothing has it: a D-Bus session address (never dialled
 * on this path; it makes secret-service and kwallet worth offering).
 */
function unchosen(env: Record<string, string>): Record<string, string> {
  const { AWS_VAULT_BACKEND: _, ...rest } = env;
  return { ...rest, DBUS_SESSION_BUS_ADDRESS: "unix:path=/nonexistent/bus" };
}

Deno.test({
  name: "the first command on the default file store says so in one line, then never again",
  ...linuxOnly,
  fn: async () => {
    const sb = await makeSandbox({ config: "[profile work]\nregion = eu-west-1\n" });
    try {
      const env = unchosen(sb.env);
      const first = await runCli(["list"], { env });
      equal(first.code, 0);
      equal(first.stderr, NOTE);
      equal((await Deno.stat(sb.vaultDir)).mode! & 0o777, 0o700);
      const second = await runCli(["list"], { env });
      equal(second.stderr, "");
      equal(second.stdout, first.stdout);
    } finally {
      await sb.cleanup();
    }
  },
});

Deno.test({
  name: "the note comes before add's own output on a fresh machine, and the key is stored",
  ...linuxOnly,
  fn: async () => {
    const sb = await makeSandbox();
    try {
      const env = {
        ...unchosen(sb.env),
        AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
        AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      };
      const r = await runCli(["add", "--env", "work"], { env });
      equal(r.code, 0, r.stderr);
      ok(r.stderr.startsWith(NOTE), r.stderr);
      equal(r.stdout, 'Added credentials to profile "work" in vault\n');
      equal((await runCli(["list", "--credentials"], { env })).stdout, "work\n");
    } finally {
      await sb.cleanup();
    }
  },
});

Deno.test({
  name: "no note once a backend is chosen (flag or environment) or the store exists; --file-dir is named as given",
  ...linuxOnly,
  fn: async () => {
    const sb = await makeSandbox({ config: "[profile work]\n" });
    try {
      const env = unchosen(sb.env);
      equal((await runCli(["list", "--backend=file"], { env })).stderr, "");
      equal((await runCli(["list"], { env: { ...env, AWS_VAULT_BACKEND: "file" } })).stderr, "");
      const other = `${sb.home}/elsewhere`;
      const r = await runCli(["list", `--file-dir=${other}`], { env });
      equal(r.stderr, NOTE.replace("~/.awsvault/keys/", other));
      // Headless (no D-Bus session): only the backends that can work here are offered.
      const { DBUS_SESSION_BUS_ADDRESS: _, ...headless } = env;
      const h = await runCli(["list", `--file-dir=${other}-headless`], { env: headless });
      equal(h.stderr, NOTE.replace("~/.awsvault/keys/", `${other}-headless`).replace("secret-service, kwallet, ", ""));
      // Already there (as after any aws-vault run, or one of the Go tool's file stores): nothing to say.
      await Deno.mkdir(sb.vaultDir, { recursive: true });
      equal((await runCli(["list"], { env })).stderr, "");
    } finally {
      await sb.cleanup();
    }
  },
});
