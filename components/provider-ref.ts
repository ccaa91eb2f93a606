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

/*
 * What follows is stored in every dynamic resource's state twice (inputs and outputs) as the
 * closure serializer writes it: each method in a wrapper of its own, comments and names kept. So
 * it is kept short: one-letter parameters, the lint directive outside, the message plain.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
/** Loads the provider `r` points at and calls its method `m` with `a`. Runs in the host, from the project directory. */
function call(r: { readonly modulePath: string; readonly exportName: string }, m: string, a: unknown[]): any {
  if (!require.extensions[".ts"]) require("ts-node").register({ transpileOnly: true });
  const p = require(require("path").resolve(r.modulePath))[r.exportName];
  if (!p) throw new Error(`${r.modulePath} exports no ${r.exportName}: this resource's dynamic provider moved`);
  return p[m](...a);
}
/* eslint-enable @typescript-eslint/no-require-imports */

/** One forwarding method per provider method the host calls; `this` is the reference. */
const FORWARD: Required<pulumi.dynamic.ResourceProvider> = {
  check(...a: unknown[]) { return call(this as any, "check", a); },
  diff(...a: unknown[]) { return call(this as any, "diff", a); },
  create(...a: unknown[]) { return call(this as any, "create", a); },
  read(...a: unknown[]) { return call(this as any, "read", a); },
  update(...a: unknown[]) { return call(this as any, "update", a); },
  delete(...a: unknown[]) { return call(this as any, "delete", a); },
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
