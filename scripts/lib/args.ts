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
