/**
 * A dynamic provider that Pulumi stores as a reference to its module instead of as its code.
 *
 * The SDK serializes a dynamic provider object with everything its methods reach into every
 * resource's `__provider` (input and output): 8-15 KB per resource for the providers here. The
 * object `providerRef` returns reaches only two strings and one function, so `__provider` is about
 * 1 KB: when the host configures it, it loads `modulePath` and takes on the methods of the provider
 * that module exports as `exportName`.
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

/** What a stored reference holds until the host configures it: where its provider is. */
interface Ref {
  readonly modulePath: string;
  readonly exportName: string;
  [method: string]: unknown;
}

/**
 * The one method stored: loads the provider the reference points at and puts its methods on the
 * reference, each calling the provider's. The host calls `configure` on every provider it
 * deserializes, once per process and before any other method (@pulumi/pulumi 3.270.0,
 * cmd/dynamic-provider/index.js, `getProvider`: `requireFromString(...).handler()`, then
 * `if (provider.configure) await provider.configure(req)`), and the methods are in place before
 * `configure` returns, as nothing in it waits. So the stored text is one function, not a forwarder
 * per method: about 1 KB of `__provider`, stored twice per dynamic resource, instead of 2.6 KB.
 * Runs in the host, from the project directory. Its text is stored as the transpiler emits it,
 * comments included: so the lint exception for its `require`s is outside it, and the method names
 * are one string (an array literal is emitted one line per item).
 */
/* eslint-disable @typescript-eslint/no-require-imports */
function configure(this: Ref, req: unknown): unknown {
  if (!require.extensions[".ts"]) require("ts-node").register({ transpileOnly: true });
  const provider = require(require("path").resolve(this.modulePath))[this.exportName];
  if (!provider) throw new Error(`${this.modulePath} exports no ${this.exportName}: the dynamic provider of this resource moved`);
  for (const method of "check diff create read update delete".split(" ")) {
    if (typeof provider[method] === "function") this[method] = provider[method].bind(provider);
  }
  return provider.configure?.(req);
}
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * The provider stored for the provider `modulePath` exports as `exportName`: until the host
 * configures it, only where that is and `configure` (above); then that provider's methods.
 */
export function providerRef(modulePath: string, exportName: string): pulumi.dynamic.ResourceProvider {
  return { modulePath, exportName, configure } as unknown as pulumi.dynamic.ResourceProvider;
}
