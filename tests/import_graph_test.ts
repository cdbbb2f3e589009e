// The module graph as Deno resolves it (`deno info --json`, static, type-only and dynamic imports alike): every source
// module is reachable from main.ts, no folder imports a folder above it, and no module imports itself through others.
import assert from "node:assert/strict";

/**
 * The layers, lowest first. A module may import its own folder and any folder listed before it. The ground floor holds
 * the value types everything shares; each floor above uses only what is below it (docs/behaviour.md describes what
 * each implements).
 */
const LAYERS = [
  "src/core", // errors, Env, Credentials, Logger, time, version
  "src/os", // processes, terminals, libc, PATH lookup, the browser
  "src/config", // the config file and profile resolution
  "src/prompt", // MFA prompt drivers, terminal prompts
  "src/aws", // SDK clients, TLS trust, console sign-in
  "src/vault", // secret stores and typed vault items
  "src/credentials", // providers, the chain, the credential use case
  "src/audit", // the audit log of credential hand-outs
  "src/server", // ECS and EC2 credential servers, proxies
  "src/cli", // the command-line framework: declarations, tokenizer, parser, help, completion
  "src/cli/commands", // one module per command, and the command table
  "src", // app.ts: the program as a function
  ".", // main.ts
];

const root = new URL("../", import.meta.url);

interface Edge {
  readonly from: string;
  readonly to: string;
}

async function moduleGraph(): Promise<{ modules: string[]; edges: Edge[] }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--no-config", "main.ts"],
    cwd: root,
    stdout: "piped",
    stderr: "inherit",
    env: { NO_COLOR: "1" },
  }).output();
  assert.ok(output.success, "deno info failed");
  const info = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    modules: { specifier: string; dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[] }[];
  };
  const local = (specifier: string | undefined) =>
    specifier?.startsWith(root.href) ? specifier.slice(root.href.length) : undefined;
  const modules: string[] = [];
  const edges: Edge[] = [];
  for (const module of info.modules) {
    const from = local(module.specifier);
    if (!from) continue;
    modules.push(from);
    for (const dependency of module.dependencies ?? []) {
      for (const to of new Set([local(dependency.code?.specifier), local(dependency.type?.specifier)])) {
        if (to) edges.push({ from, to });
      }
    }
  }
  return { modules, edges };
}

function layerOf(path: string): number {
  const folder = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : ".";
  const index = LAYERS.indexOf(folder);
  assert.ok(index >= 0, `${path} is in no layer: add its folder to LAYERS`);
  return index;
}

async function sourceFiles(dir: URL, prefix: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory) found.push(...await sourceFiles(new URL(`${entry.name}/`, dir), `${prefix}${entry.name}/`));
    else if (entry.name.endsWith(".ts")) found.push(`${prefix}${entry.name}`);
  }
  return found;
}

const graph = await moduleGraph();

Deno.test("import graph: every source module is reachable from main.ts", async () => {
  const reachable = new Set(graph.modules);
  const unreachable = (await sourceFiles(new URL("src/", root), "src/")).filter((f) => !reachable.has(f));
  assert.deepEqual(unreachable, [], "modules nothing imports");
});

Deno.test("import graph: no module imports a layer above its own", () => {
  const upward = graph.edges
    .filter((e) => e.to.startsWith("src/") || e.to === "main.ts")
    .filter((e) => layerOf(e.to) > layerOf(e.from))
    .map((e) => `${e.from} -> ${e.to}`);
  assert.deepEqual(upward, []);
});

Deno.test("import graph: no circular imports", () => {
  const next = new Map<string, string[]>();
  for (const { from, to } of graph.edges) next.set(from, [...next.get(from) ?? [], to]);
  // Depth-first search; a grey node met again closes a cycle.
  const state = new Map<string, "grey" | "black">();
  const cycles: string[] = [];
  const visit = (node: string, path: string[]) => {
    state.set(node, "grey");
    for (const to of next.get(node) ?? []) {
      if (state.get(to) === "grey") cycles.push([...path.slice(path.indexOf(to)), node, to].join(" -> "));
      else if (!state.has(to)) visit(to, [...path, node]);
    }
    state.set(node, "black");
  };
  for (const node of next.keys()) if (!state.has(node)) visit(node, []);
  assert.deepEqual(cycles, []);
});

Deno.test("import graph: the check itself sees a wrong import", () => {
  // A self-test, so a change in `deno info`'s output cannot make the checks above pass vacuously.
  assert.ok(graph.edges.some((e) => e.from === "main.ts" && e.to === "src/app.ts"));
  assert.ok(graph.edges.some((e) => e.from === "src/cli/commands/table.ts" && e.to === "src/cli/commands/exec.ts"));
  assert.ok(layerOf("src/cli/commands/exec.ts") > layerOf("src/credentials/chain.ts"));
});
