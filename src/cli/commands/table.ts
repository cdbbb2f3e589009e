/**
 * The command table: each command's declaration (`specs.ts`) paired with its implementation module, which loads only
 * when that command runs, so start-up pays for the one command that runs and not for the other eleven
 * (docs/performance.md).
 * @module
 */

import { type Command, defineCommand } from "../command.ts";
import {
  addSpec,
  clearSpec,
  containerProxySpec,
  execSpec,
  exportSpec,
  listSpec,
  lockSpec,
  loginSpec,
  logSpec,
  migrateBackendSpec,
  proxySpec,
  removeSpec,
  rotateSpec,
  ssoSpec,
  versionSpec,
} from "./specs.ts";

/** Every command, in aws-vault's registration order. */
export const COMMANDS: readonly Command[] = [
  defineCommand(addSpec, () => import("./add.ts")),
  defineCommand(removeSpec, () => import("./remove.ts")),
  defineCommand(migrateBackendSpec, () => import("./migrate_backend.ts")),
  defineCommand(listSpec, () => import("./list.ts")),
  defineCommand(rotateSpec, () => import("./rotate.ts")),
  defineCommand(execSpec, () => import("./exec.ts")),
  defineCommand(exportSpec, () => import("./export.ts")),
  defineCommand(clearSpec, () => import("./clear.ts")),
  defineCommand(lockSpec, () => import("./lock.ts")),
  defineCommand(loginSpec, () => import("./login.ts")),
  defineCommand(logSpec, () => import("./log.ts")),
  defineCommand(proxySpec, () => import("./proxy.ts")),
  defineCommand(containerProxySpec, () => import("./container_proxy.ts")),
  defineCommand(ssoSpec, () => import("./sso_sync.ts")),
  defineCommand(versionSpec, () => import("./version.ts")),
];
