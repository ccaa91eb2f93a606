/**
 * Two SDK costs the program avoids, measured with `npm run bench` and `node --cpu-prof` (see
 * docs/architecture.md, "Evaluation time").
 *
 * - **One dynamic-provider object per kind.** The SDK serializes a dynamic provider (its whole
 *   closure, into every resource's `__provider` input) once per provider *object*: it keeps the
 *   result in a WeakMap keyed by the object (`providerCache` in @pulumi/pulumi
 *   `dynamic/index.js`, on by default since 3.0). A provider built per resource pays that
 *   serialization for every resource; a shared one pays it once per run. Hence one module-level
 *   provider object in each dynamic resource's module (github/scaffold-file.ts, branch-exists.ts,
 *   bootstrap.ts; cluster/kind.ts), used unless a test injects a client. What is serialized is
 *   a reference to that module (provider-ref.ts): 2-3 KB in state per resource, not 8-15 KB.
 * - **No debug stacks while resources are built.** For its leak report the SDK wraps every
 *   output's promises in `debuggablePromise` (`runtime/debuggable.js`), which stores
 *   `new Error().stack` on each: a few per output property, dozens per resource. Under ts-node
 *   (which the Pulumi CLI uses for a TypeScript program) every such stack is source-mapped frame
 *   by frame, and that was most of the program's evaluation time at 200 tenants. The resource's
 *   own source position is unaffected: `Resource.callsites()` lifts the limit for itself.
 */

/**
 * Runs `build` (synchronous resource construction) with `Error.stackTraceLimit` at 0, and
 * restores it afterwards, also when `build` throws. Errors thrown inside keep their messages;
 * only their stack is empty, so config is validated before, with stacks. With
 * `PULUMI_DEBUG_PROMISE_LEAKS` set (what the SDK's leak report asks for) stacks are kept.
 */
export function withoutDebugStacks<T>(build: () => T): T {
  if (process.env.PULUMI_DEBUG_PROMISE_LEAKS) return build();
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return build();
  } finally {
    Error.stackTraceLimit = limit;
  }
}
