/**
 * GitHub's hourly limit, checked before anything is created: GitHub allows 500
 * content-generating requests an hour (REST API docs, "Rate limits for the REST API", secondary
 * rate limits). Each part of the stack (the fleet repository, the tenant template, each tenant)
 * says how many content writes its creation makes; the stack exports that map as
 * `githubContentWrites`. A preview reads the map its last update exported, through a
 * StackReference to this very stack, and what was not there then is new: when the new parts
 * would pass the limit, it warns, naming the limit, the count and the parts, so the SREs can
 * onboard in waves (docs/github.md, "Onboarding a large batch").
 *
 * The count is an upper bound: a scaffold file that already exists is read, not written.
 */
import * as pulumi from "@pulumi/pulumi";

/** GitHub's content-generating requests per hour. */
export const GITHUB_CONTENT_WRITES_PER_HOUR = 500;

/** Part of the stack → content writes its creation makes. */
export type ContentWrites = Readonly<Record<string, number>>;

/** The parts of `current` not in `previous`, and their writes. */
export function newWrites(previous: ContentWrites | undefined, current: ContentWrites): { readonly parts: string[]; readonly writes: number } {
  const parts = Object.keys(current).filter((part) => previous?.[part] === undefined).sort();
  return { parts, writes: parts.reduce((sum, part) => sum + current[part], 0) };
}

/** The warning for `current` after `previous`, or undefined when the new parts fit in the hour. */
export function waveWarning(stack: string, previous: ContentWrites | undefined, current: ContentWrites): string | undefined {
  const { parts, writes } = newWrites(previous, current);
  if (writes <= GITHUB_CONTENT_WRITES_PER_HOUR) return undefined;
  const shown = parts.length > 10 ? `${parts.slice(0, 10).join(", ")} and ${parts.length - 10} more` : parts.join(", ");
  return (
    `stack ${stack}: this update creates up to ${writes} GitHub content-generating requests (${parts.length} new: ${shown}), ` +
    `past GitHub's limit of ${GITHUB_CONTENT_WRITES_PER_HOUR} an hour: it will wait on GitHub's secondary rate limit for about ` +
    `${Math.floor((writes - 1) / GITHUB_CONTENT_WRITES_PER_HOUR)} h. Onboard in waves of at most ${GITHUB_CONTENT_WRITES_PER_HOUR} writes per stack and hour ` +
    `(docs/github.md, "Onboarding a large batch")`
  );
}

/**
 * Reads the map the stack's last update exported and, in a preview, warns when the new parts pass
 * the hourly limit. Returns the map to export as `githubContentWrites`.
 */
export function checkWriteBudget(current: ContentWrites): pulumi.Output<ContentWrites> {
  const stack = pulumi.getStack();
  const self = new pulumi.StackReference(`${pulumi.getOrganization()}/${pulumi.getProject()}/${stack}`);
  const warned = pulumi.output(self.getOutputDetails("githubContentWrites")).apply(async (details) => {
    const warning = waveWarning(stack, details.value as ContentWrites | undefined, current);
    if (warning && pulumi.runtime.isDryRun()) await pulumi.log.warn(warning);
    return current;
  });
  return warned;
}
