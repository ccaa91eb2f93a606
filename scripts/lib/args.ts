/**
 * Argument parsing the commands share: a flag's value, failing with the command's usage.
 */

/** The value after flag `name` in `argv`, undefined when absent; fails, with `usage`, when it has none. */
export function flagValue(argv: readonly string[], name: string, usage: string): string | undefined {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  if (!argv[i + 1] || argv[i + 1].startsWith("--")) throw new Error(`${name} needs a value; ${usage}`);
  return argv[i + 1];
}

/**
 * A command's one positional argument, with its flags checked: `valued` flags take the next
 * argument, `switches` none. `problem` is the message to fail with (the usage, after the unknown
 * flags when there are any), when the positional argument is missing or a flag is unknown.
 */
export function commandArgs(argv: readonly string[], usage: string, valued: readonly string[], switches: readonly string[] = []): { positional?: string; problem?: string } {
  const unknown = argv.filter((a, i) => a.startsWith("-") && !valued.includes(a) && !switches.includes(a) && !valued.includes(argv[i - 1]));
  const positional = argv.find((a, i) => !a.startsWith("-") && !valued.includes(argv[i - 1]));
  if (positional && !unknown.length) return { positional };
  return { ...(positional ? { positional } : {}), problem: `${unknown.length ? `unknown flag(s) ${unknown.join(" ")}; ` : ""}${usage}` };
}
