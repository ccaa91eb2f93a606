/**
 * Import IDs for a lost state: what `npm run adopt` (scripts/adopt.ts) found live of what the
 * program would create, handed to the program as a file named by `FLEET_ADOPT_FILE`:
 * `{"imports": {"<type>::<name>": "<id>"}}`. Each custom resource whose type and name are in it is
 * registered with `import: <id>`, so the preview shows `= import` where a create would have met
 * the object (pulumi-kubernetes 4.29 and later answer AlreadyExists; GitHub refuses a deploy key
 * twice with 422 "key is already in use"). After the import the engine diffs the program's inputs
 * against what it read and updates what differs (components/github/adopt.ts cites the engine).
 *
 * Without the variable nothing is registered and the program is unchanged. With it, a resource in
 * state under that ID already takes the ordinary diff (the engine imports only what is not in
 * state), so a second run with the same file changes nothing.
 */
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";

/** The file's key for one resource: its type token and name (unique in this program; scripts/adopt.ts checks). */
export function importKey(type: string, name: string): string {
  return `${type}::${name}`;
}

/** The import IDs of `file`, or a clear error naming the variable. */
export function readImports(file: string): ReadonlyMap<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(`FLEET_ADOPT_FILE=${file}: ${(e as Error).message}; it is written by npm run adopt, unset it otherwise`, { cause: e });
  }
  const imports = (parsed as { imports?: unknown })?.imports;
  if (!imports || typeof imports !== "object" || Array.isArray(imports) || Object.values(imports).some((v) => typeof v !== "string" || v === "")) {
    throw new Error(`FLEET_ADOPT_FILE=${file}: expected {"imports": {"<type>::<name>": "<id>"}} as npm run adopt writes it`);
  }
  return new Map(Object.entries(imports as Record<string, string>));
}

/**
 * Registers the transformation that imports what `FLEET_ADOPT_FILE` lists, when it is set; call
 * before any resource is built.
 */
export function importFromEnvironment(env: NodeJS.ProcessEnv = process.env): void {
  const file = env.FLEET_ADOPT_FILE;
  if (!file) return;
  const imports = readImports(file);
  pulumi.runtime.registerStackTransformation((args) => {
    if (!(args.resource instanceof pulumi.CustomResource)) return undefined;
    const id = imports.get(importKey(args.type, args.name));
    if (id === undefined || (args.opts as pulumi.CustomResourceOptions).import !== undefined) return undefined;
    return { props: args.props, opts: { ...args.opts, import: id } };
  });
}
