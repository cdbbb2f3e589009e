/**
 * `migrate-backend --from A --to B`: copy stored credentials between secret stores (spec §1.10, from the
 * ByteNess fork). Its command line is complete; the action arrives with the OS secret stores.
 * @module
 */

import { AVAILABLE_BACKENDS } from "../vault/mod.ts";
import type { Command } from "./command.ts";
import { notImplemented } from "./not_implemented.ts";

/** The `migrate-backend` command. */
export const migrateBackendCommand: Command = {
  spec: {
    name: "migrate-backend",
    help: "Migrate stored credentials between keyring backends.",
    flags: [
      {
        name: "from",
        kind: "enum",
        required: true,
        values: AVAILABLE_BACKENDS,
        placeholder: "BACKEND",
        help: "Source backend",
      },
      {
        name: "to",
        kind: "enum",
        required: true,
        values: AVAILABLE_BACKENDS,
        placeholder: "BACKEND",
        help: "Destination backend",
      },
      { name: "profile", kind: "string", placeholder: "PROFILE", help: "Migrate only this credential" },
      { name: "dry-run", kind: "bool", help: "List what would migrate. No secrets are read" },
      { name: "overwrite", kind: "bool", help: "Overwrite existing destination credentials" },
      { name: "delete-source", kind: "bool", help: "Delete the source item after a verified copy" },
    ],
    args: [],
  },
  run: () => notImplemented("migrate-backend"),
};
