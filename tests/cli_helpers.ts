/** Runs the command-line entry points the way `deno task` does, for the tests of their exit codes and output. */

/** What a finished command printed, decoded. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `cli/<script>` with `args` in a fresh Deno process and waits for it. */
export async function runCli(script: string, args: readonly string[]): Promise<CliRun> {
  const path = new URL(`../cli/${script}`, import.meta.url).pathname;
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", path, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}
