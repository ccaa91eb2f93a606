/**
 * A dynamic provider that Pulumi stores as a reference to its module instead of as its code.
 *
 * The SDK serializes a dynamic provider object with everything its methods reach into every
 * resource's `__provider` (input and output): 8-15 KB per resource for the providers here. The
 * object `providerRef` returns reaches only two strings, so `__provider` is a few hundred bytes:
 * each method loads `modulePath` and calls the provider it exports as `exportName`.
 *
 * The dynamic-provider host (@pulumi/pulumi cmd/dynamic-provider) evaluates `__provider` with
 * `require-from-string` and no file name, so `require` resolves from the host's working
 * directory: the project directory (the engine starts plugins in the directory of Pulumi.yaml,
 * this project sets no `main`). `modulePath` is relative to it, so state holds no checkout path.
 * The module is TypeScript: the host gets the project's ts-node, as the program does.
 *
 * What this changes: the host runs the provider code of the checkout, not the code stored when
 * the resource was last updated. A provider module keeps its path (and export) for as long as
 * stacks hold resources of it; editing its code needs no `pulumi up` any more.
 */
import type * as pulumi from "@pulumi/pulumi";

/** Loads the provider `ref` points at and calls its `method`. Runs in the host, from the project directory. */
function call(ref: { readonly modulePath: string; readonly exportName: string }, method: string, args: unknown[]): any {
  /* eslint-disable @typescript-eslint/no-require-imports */
  if (!require.extensions[".ts"]) require("ts-node").register({ transpileOnly: true });
  const provider = require(require("path").resolve(ref.modulePath))[ref.exportName];
  /* eslint-enable @typescript-eslint/no-require-imports */
  if (!provider) throw new Error(`${ref.modulePath} exports no ${ref.exportName}: the dynamic provider of this resource moved`);
  return provider[method](...args);
}

/** One forwarding method per provider method the host calls; `this` is the reference. */
const FORWARD: Required<pulumi.dynamic.ResourceProvider> = {
  check(...args: unknown[]) { return call(this as any, "check", args); },
  diff(...args: unknown[]) { return call(this as any, "diff", args); },
  create(...args: unknown[]) { return call(this as any, "create", args); },
  read(...args: unknown[]) { return call(this as any, "read", args); },
  update(...args: unknown[]) { return call(this as any, "update", args); },
  delete(...args: unknown[]) { return call(this as any, "delete", args); },
} as any;

/**
 * The provider stored for `provider`, the object `modulePath` exports as `exportName`: it has the
 * methods `provider` has (the host checks which exist), each calling `provider`'s.
 */
export function providerRef(modulePath: string, exportName: string, provider: pulumi.dynamic.ResourceProvider): pulumi.dynamic.ResourceProvider {
  const ref: Record<string, unknown> = { modulePath, exportName };
  for (const [method, forward] of Object.entries(FORWARD)) {
    if (typeof (provider as unknown as Record<string, unknown>)[method] === "function") ref[method] = forward;
  }
  return ref as unknown as pulumi.dynamic.ResourceProvider;
}
