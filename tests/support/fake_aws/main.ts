/**
 * Runs the fake AWS endpoint as its own process, for manual testing and for tests that need it elsewhere:
 *
 *   deno run -A tests/support/fake_aws/main.ts --seed seed.json [--port N] [--account-id ID]
 *
 * The seed file is `{"accountId"?: "…", "users"?: FakeUser[], "roles"?: FakeRole[]}`. The first stdout line is the
 * URL; the process serves until SIGINT or SIGTERM. Drive it through the control API described in `admin.ts`.
 * @module
 */

import { type FakeRole, type FakeUser, startFakeAws } from "./mod.ts";

interface Seed {
  accountId?: string;
  users?: FakeUser[];
  roles?: FakeRole[];
}

function option(name: string): string | undefined {
  const index = Deno.args.indexOf(name);
  const inline = Deno.args.find((arg) => arg.startsWith(`${name}=`));
  return index >= 0 ? Deno.args[index + 1] : inline?.slice(name.length + 1);
}

const seedPath = option("--seed");
const seed: Seed = seedPath ? JSON.parse(await Deno.readTextFile(seedPath)) : {};
const port = option("--port");
const fake = await startFakeAws({
  accountId: option("--account-id") ?? seed.accountId,
  port: port === undefined ? undefined : Number(port),
});
for (const user of seed.users ?? []) fake.addUser(user);
for (const role of seed.roles ?? []) fake.addRole(role);
console.log(fake.url);

const stopped = Promise.withResolvers<void>();
for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, () => stopped.resolve());
await stopped.promise;
await fake.close();
Deno.exit(0);
