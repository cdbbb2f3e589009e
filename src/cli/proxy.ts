/**
 * `proxy` (hidden, alias `server`): the privileged 169.254.169.254 forwarder for `exec --ec2-server`.
 * Its command line is complete; the action arrives with the credential servers.
 * @module
 */

import type { Command } from "./command.ts";
import { notImplemented } from "./not_implemented.ts";

/** The `proxy` command. */
export const proxyCommand: Command = {
  spec: {
    name: "proxy",
    aliases: ["server"],
    hidden: true,
    help: "Start a proxy for the ec2 instance role server locally.",
    flags: [{ name: "stop", kind: "bool", help: "Stop the proxy" }],
    args: [],
  },
  run: () => notImplemented("proxy"),
};
