/**
 * Running real AWS clients (the AWS CLI, boto3, scripts) as child processes with a controlled environment.
 * @module
 */

/** What a client run produced. */
export interface ClientResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a client in a child process with nothing from our environment but PATH, a temporary HOME and `env`. */
export async function runClient(cmd: string, args: string[], env: Record<string, string>): Promise<ClientResult> {
  const home = await Deno.makeTempDir({ prefix: "server-client-home-" });
  try {
    const out = await new Deno.Command(cmd, {
      args,
      clearEnv: true,
      env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: home, AWS_PAGER: "", ...env },
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

/**
 * The AWS CLI arguments of `sts get-caller-identity` against the fake endpoint (AWS CLI 2.9 ignores AWS_ENDPOINT_URL).
 */
export function callerIdentityArgs(endpoint: string, options?: { output?: "json" | "text" }): string[] {
  return [
    "sts",
    "get-caller-identity",
    "--endpoint-url",
    endpoint,
    "--region",
    "us-east-1",
    "--output",
    options?.output ?? "json",
  ];
}
