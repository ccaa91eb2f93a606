/**
 * GitHub's hourly limit, checked before anything is created: GitHub allows 500
 * content-generating requests an hour (REST API docs, "Rate limits for the REST API", secondary
 * rate limits; `fleet:repository.contentWritesPerHour` for a GitHub Enterprise Server that sets
 * its own). Each part of the stack (the fleet repository, the tenant template, each tenant)
 * says how many content writes its creation makes; the stack exports that map as
 * `githubContentWrites`. A preview reads the map its last update exported (the engine's builtin
 * invoke `pulumi:pulumi:readStackOutputs`, which a StackReference uses too:
 * pkg/resource/deploy/builtins.go at CLI v3.274.1), and what was not there then is new: when the new parts
 * would pass the limit, it warns, naming the limit, the count and the parts, so the SREs can
 * onboard in waves (docs/github.md, "Onboarding a large batch").
 *
 * The count is an upper bound: a scaffold file that already exists is read, not written (a lookup
 * stack cannot tell whether the template gave a repository its file, so it counts it).
 */
import * as pulumi from "@pulumi/pulumi";

/** Part of the stack → content writes its creation makes. */
export type ContentWrites = Readonly<Record<string, number>>;

/** The parts of `current` not in `previous`, and their writes. */
export function newWrites(previous: ContentWrites | undefined, current: ContentWrites): { readonly parts: string[]; readonly writes: number } {
  const parts = Object.keys(current).filter((part) => previous?.[part] === undefined).sort();
  return { parts, writes: parts.reduce((sum, part) => sum + current[part], 0) };
}

/** The warning for `current` after `previous`, or undefined when the new parts fit in the hour. */
export function waveWarning(stack: string, previous: ContentWrites | undefined, current: ContentWrites, limit: number): string | undefined {
  const { parts, writes } = newWrites(previous, current);
  if (writes <= limit) return undefined;
  const shown = parts.length > 10 ? `${parts.slice(0, 10).join(", ")} and ${parts.length - 10} more` : parts.join(", ");
  return (
    `stack ${stack}: this update creates up to ${writes} GitHub content-generating requests (${parts.length} new: ${shown}), ` +
    `past GitHub's limit of ${limit} an hour (fleet:repository.contentWritesPerHour): it will wait on GitHub's secondary rate limit, or fail part-way, for about ` +
    `${Math.floor((writes - 1) / limit)} h. Onboard in waves of at most ${limit} writes per stack and hour ` +
    `(docs/github.md, "Onboarding a large batch")`
  );
}

/**
 * Reads the map the stack's last update exported (`last`: its outputs, `readLastOutputs`) and, in a
 * preview, warns when the new parts pass the hourly limit. Returns the map to export as
 * `githubContentWrites`.
 */
export function checkWriteBudget(current: ContentWrites, limit: number, last: Promise<Record<string, unknown>>): pulumi.Output<ContentWrites> {
  const stack = pulumi.getStack();
  return pulumi.output(
    last.then(
      async (outputs) => {
        const previous = outputs.githubContentWrites as ContentWrites | undefined;
        // No outputs: a first update, everything is new. Outputs without the map: the stack was
        // last updated by a version of the program without it, so what is new is unknown.
        if (previous === undefined && Object.keys(outputs).length > 0) return current;
        const warning = waveWarning(stack, previous, current, limit);
        if (warning && pulumi.runtime.isDryRun()) await pulumi.log.warn(warning);
        return current;
      },
      // Only a warning: a backend that cannot answer must not stop the update.
      async (e: unknown) => {
        if (pulumi.runtime.isDryRun()) await pulumi.log.warn(`stack ${stack}: could not read the last update's outputs, so GitHub's hourly write limit is not checked: ${(e as Error)?.message || String(e)}`);
        return current;
      },
    ),
  );
}

/**
 * The outputs this stack's last update exported, `{}` before its first update: the engine's
 * builtin invoke, not a StackReference resource, since a resource reading its own stack would be
 * one update behind, and every `refresh --expect-no-changes` after an update would see it change.
 */
export function readLastOutputs(): Promise<Record<string, unknown>> {
  const name = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
  return pulumi.runtime.invoke(READ_STACK_OUTPUTS, { name }).then((answer: { outputs?: Record<string, unknown> }) => answer?.outputs ?? {});
}

/** The engine's builtin invoke that reads a stack's outputs from the backend. */
export const READ_STACK_OUTPUTS = "pulumi:pulumi:readStackOutputs";
