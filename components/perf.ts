/**
 * Three SDK costs the program avoids, and one of the engine's, measured with `npm run bench`, `npm run bench -- --real`
 * and `node --cpu-prof` (see docs/architecture.md, "Evaluation time" and "Real-engine speed").
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
 *   by frame, and that was most of the program's evaluation time at 200 tenants.
 * - **A short stack trace per resource.** The SDK sends each resource's whole call stack with its
 *   registration (`Resource.callsites()` in @pulumi/pulumi `resource.js` lifts
 *   `Error.stackTraceLimit` to infinity, `Resource.stackTrace(4)` drops the SDK's own five
 *   frames), and the engine keeps it in state (`stackTrace`, pkg/v3 resource/deploy
 *   step_generator.go), where it is only displayed. That was 20-25 frames, about 600 bytes of
 *   every resource's state (15% of a stack's state), rewritten at every checkpoint, and each
 *   frame source-mapped. While resources are built, `Resource.callsites` returns only the frames
 *   the SDK skips plus `STACK_FRAMES` of the program's: the resource's source position (the
 *   first, unchanged) and its two callers. `callsites` is a private static of the SDK's
 *   `Resource` (resource.d.ts), so test/perf.spec.ts checks the cut against the SDK's own stack:
 *   an SDK that stops calling it fails that test.
 * - **No debug stacks nobody reads.** After `withoutDebugStacks` returns, the registrations'
 *   asynchronous halves (the RPC, each output's resolution) still make `debuggablePromise`s, each
 *   with a source-mapped stack of ten frames: about 1 s of the program's 12 s at 200 tenants
 *   (`node --cpu-prof`), in every preview and `up`. The SDK prints those stacks only with
 *   `PULUMI_DEBUG_PROMISE_LEAKS` set (`leakedPromises`, `runtime/debuggable.js`); without it they
 *   are never read. `skipUnreadDebugStacks` makes them without a stack then, and leaves the rest
 *   as it was: the leak count and message, and whole stacks with the variable set.
 */
import * as pulumi from "@pulumi/pulumi";
import * as debuggableModule from "@pulumi/pulumi/runtime/debuggable";

/**
 * A start gate: for `dependsOn`, a promise of no resources that resolves once every one of
 * `resources` is registered (its step done). It orders when a resource starts, and leaves nothing
 * in state: a `dependsOn` on the resources themselves is kept as dependency URNs, and the engine
 * rewrites the whole state for every unchanged resource whose dependencies change
 * (`sameSnapshotMutation.mustWrite`, pkg/v3 backend/snapshot.go), so a wait that only a first `up`
 * needs cannot be a dependency without costing the next run one rewrite per resource (a 40-tenant
 * `up` adding one tenant took 53 s instead of 16-22 s). The registration's promise is the SDK's
 * `Output.promise()` (output.js), the one its own `dependsOn` handling awaits, so a failure behaves
 * as with a `dependsOn` on the resource: where the SDK rejects the URN (under the mocks, or
 * `--continue-on-error`) what waits fails with that error; in a default `up` a failed step ends
 * the run, with that step's error (the SDK leaves a URN cancelled by the engine unresolved).
 */
export function startAfter(resources: readonly pulumi.Resource[]): Promise<pulumi.Resource[]> {
  return Promise.all(resources.map((r) => outputPromise(r.urn))).then(() => []);
}

/** An Output's value as a promise: the SDK's `Output.promise()` (output.js), not in its typings. */
export function outputPromise<T>(output: pulumi.Output<T>): Promise<T> {
  return (output as unknown as { promise(): Promise<T> }).promise();
}

/** What the program uses of the SDK's internal `runtime/debuggable` module. */
export type Debuggable = {
  debuggablePromise<T>(p: Promise<T>, ctx: unknown): Promise<T>;
  /** `!!process.env.PULUMI_DEBUG_PROMISE_LEAKS`, read when the SDK loads: whether leaks are printed with their stacks. */
  debugPromiseLeaks: boolean;
};

/**
 * The SDK's `runtime/debuggable` module (internal: its typings export nothing). Every caller in
 * the SDK calls `debuggablePromise` through this exports object (`debuggable_1.debuggablePromise(…)`),
 * so what is set here is what they call; test/perf.spec.ts checks that they still do.
 */
const debuggable = debuggableModule as unknown as Debuggable;
const sdkDebuggablePromise = debuggable.debuggablePromise;

/** `debuggablePromise` without its stack, unless the leak report will print it. */
function leanDebuggablePromise<T>(p: Promise<T>, ctx: unknown): Promise<T> {
  if (debuggable.debugPromiseLeaks) return sdkDebuggablePromise(p, ctx);
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return sdkDebuggablePromise(p, ctx);
  } catch (e) {
    // An error of the SDK's own (it is handed something that is not a promise) keeps its stack.
    Error.stackTraceLimit = limit;
    if (e instanceof Error) Error.captureStackTrace(e, leanDebuggablePromise);
    throw e;
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * From now on in this process, the SDK's debug promises carry a stack only when its leak report
 * prints them (`PULUMI_DEBUG_PROMISE_LEAKS`). Idempotent; for the whole process, as the program
 * is what the language host runs. With the variable set it installs nothing, so the stacks the
 * report prints are the SDK's own, frame for frame.
 */
export function skipUnreadDebugStacks(): void {
  if (debuggable.debugPromiseLeaks) return;
  debuggable.debuggablePromise = leanDebuggablePromise;
}

/** The program's frames kept in each resource's stack trace; the first is its source position. */
export const STACK_FRAMES = 3;

/** The frames `Resource.stackTrace(4)` drops: `callsites`, `stackTrace` and three constructors. */
const SDK_FRAMES = 5;

type Callsite = { file?: string; line?: number; column?: number };
type ResourceStatics = { callsites(): Callsite[] };

/**
 * A frame of `new Error().stack`: `at name (file:line:column)`, as the SDK's
 * `Resource.framePositionRegExp` reads it, or `at file:line:column`, an anonymous function's frame.
 * The second form matters for a cut stack: source-map-support names an anonymous function after
 * the call site in a frame further down (its `prepareStackTrace`), which a cut stack may not have,
 * and the SDK's pattern alone would lose that frame's position.
 */
const FRAME = /^\s*at (?:async )?(?:.* \()?(?<file>[^()]*):(?<line>[0-9]+):(?<column>[0-9]+)\)?$/;

/**
 * `Resource.callsites` of @pulumi/pulumi 3.270.0 (`resource.js`), with the stack cut at the frames
 * its callers use: the same parse of `new Error().stack` (and of anonymous frames), of fewer frames.
 */
function shortCallsites(): Callsite[] {
  const limit = Error.stackTraceLimit;
  try {
    // This frame stands where the SDK's `callsites` frame stood: the caller's skip is unchanged.
    Error.stackTraceLimit = SDK_FRAMES + STACK_FRAMES;
    const stack = new Error().stack ?? "";
    return stack.split("\n").slice(1).map((frame) => {
      const { file, line, column } = FRAME.exec(frame)?.groups ?? {};
      if (!file || !line || !column || file.startsWith("node:")) return {};
      return { file, line: parseInt(line, 10), column: parseInt(column, 10) };
    });
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/**
 * Runs `build` (synchronous resource construction) with `Error.stackTraceLimit` at 0 and the short
 * `Resource.callsites`, and restores both afterwards, also when `build` throws. Errors thrown
 * inside keep their messages; only their stack is empty, so config is validated before, with
 * stacks. With `PULUMI_DEBUG_PROMISE_LEAKS` set (what the SDK's leak report asks for) stacks are
 * kept whole.
 */
export function withoutDebugStacks<T>(build: () => T): T {
  const statics = pulumi.Resource as unknown as ResourceStatics;
  const [limit, callsites] = [Error.stackTraceLimit, statics.callsites];
  if (!process.env.PULUMI_DEBUG_PROMISE_LEAKS) {
    Error.stackTraceLimit = 0;
    statics.callsites = shortCallsites;
  }
  try {
    return build();
  } finally {
    Error.stackTraceLimit = limit;
    statics.callsites = callsites;
  }
}
