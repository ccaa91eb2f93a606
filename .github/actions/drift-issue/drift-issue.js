/* global module */
/**
 * One issue per stack for .github/workflows/drift.yml (docs/operations.md#drift).
 *
 * - drift: the open issue "Drift: <stack>" (label `drift`) gets the preview's output as its body;
 *   it is opened when there is none. When the diff differs from the one already in the body, a
 *   comment says so (editing a body notifies nobody).
 * - clean: every open issue of the stack gets a comment naming the clean run, and is closed.
 *
 * It is called once both checks have had their say: a preview that could not finish, or an
 * `npm run drift` that could not run, is drift too, and its output is in the diff (the job then
 * fails after this has written the issue). Everything comes in as arguments (github-script's
 * `github`, `context` and `core`, and plain strings), so the tests run it against a fake GitHub.
 */

/** The label every drift issue has; issues are found by it. */
const LABEL = "drift";
/** GitHub refuses an issue body or comment longer than this many characters. */
const BODY_LIMIT = 65536;
/** Characters kept from the end of a diff that has to be cut (the summary of changes is there). */
const TAIL = 2000;
/** Pulumi stack names: letters, digits, `-`, `_` and `.`. */
const STACK_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const issueTitle = (stack) => `Drift: ${stack}`;
/** The first line of a drift issue's body; how the issue of a stack is found even if renamed. */
const marker = (stack) => `<!-- fleet-drift stack=${stack} -->`;
const DIGEST = /<!-- fleet-drift-digest ([0-9a-f]{8}) -->/;

/**
 * A short fingerprint of a diff, to tell a new diff from the one already reported. Lines that
 * change on every run (Pulumi Cloud's links to the preview) do not count.
 */
function digest(diff) {
  const text = diff
    .split("\n")
    .filter((line) => !/^\s*View (Live|in Browser):/.test(line))
    .map((line) => line.trimEnd())
    .join("\n")
    .trim();
  let hash = 0x811c9dc5; // FNV-1a, 32 bits
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}

/** A code fence longer than any run of backticks in `text`, so the text cannot close it. */
function fence(text) {
  const longest = Math.max(0, ...Array.from(text.matchAll(/`+/g), (m) => m[0].length));
  return "`".repeat(Math.max(3, longest + 1));
}

/** `text` cut to at most `room` characters: its start and its last TAIL characters, never half a character. */
function cut(text, room) {
  if (text.length <= room) return text;
  const note = (n) => `\n\n[… ${n} characters cut; the whole output is in the workflow run's log …]\n\n`;
  const tailLength = Math.min(TAIL, Math.floor(room / 4));
  let headEnd = Math.max(0, room - tailLength - note(text.length).length);
  let tailStart = text.length - tailLength;
  const isHigh = (code) => code >= 0xd800 && code <= 0xdbff;
  const isLow = (code) => code >= 0xdc00 && code <= 0xdfff;
  if (headEnd > 0 && isHigh(text.charCodeAt(headEnd - 1))) headEnd--;
  if (isLow(text.charCodeAt(tailStart))) tailStart++;
  return text.slice(0, headEnd) + note(tailStart - headEnd) + text.slice(tailStart);
}

/**
 * The body of a stack's drift issue: what was checked, where, what to do, and the preview's
 * output in a code block, cut so the whole body fits GitHub's limit.
 * @param {{stack: string, diff: string, runUrl: string, sha: string, docsUrl: string, limit?: number}} args
 */
function driftBody({ stack, diff, runUrl, sha, docsUrl, limit = BODY_LIMIT }) {
  // One line per paragraph or item: GitHub renders every newline of an issue body as a line break.
  const head = [
    marker(stack),
    `<!-- fleet-drift-digest ${digest(diff)} -->`,
    `\`pulumi preview --refresh --expect-no-changes --diff\` of stack \`${stack}\` proposes changes: what the stack manages in its cluster or on GitHub no longer matches the program and config on \`main\`.`,
    "",
    `- Last checked: [this drift run](${runUrl}), at commit \`${String(sha).slice(0, 12)}\`.`,
    "- A merge to `main` that is not applied yet shows here too: approve or rerun its `up`.",
    `- Otherwise someone changed it outside \`pulumi up\`: find out who. \`pulumi up --refresh\` of the stack puts back what \`main\` declares (without \`--refresh\`, \`up\` compares with the state and may see nothing to do); a change that should stay goes into the stack's config first ([docs/operations.md › Drift](${docsUrl})).`,
    "- Every run that finds drift updates this issue; the first run that finds none closes it.",
    "",
    "Preview output (a change reads live value => what `main` sets):",
    "",
  ].join("\n");
  const text = diff.trimEnd() || "(the preview printed nothing)";
  // Room for the diff: the limit, less the head and the two fences with their newlines.
  const longestFence = fence(text).length;
  const shown = cut(text, limit - head.length - 2 * (longestFence + 1));
  const f = fence(shown);
  return `${head}${f}\n${shown}\n${f}`;
}

/** The open issues of `stack`, oldest first: labelled `drift`, titled or marked for this stack. */
async function findIssues(github, repo, stack) {
  const issues = await github.paginate(github.rest.issues.listForRepo, { ...repo, state: "open", labels: LABEL, per_page: 100 });
  return issues
    .filter((i) => !i.pull_request && (i.title === issueTitle(stack) || String(i.body ?? "").startsWith(marker(stack))))
    .sort((a, b) => a.number - b.number);
}

/** Creates a label if the repository lacks it (another stack's job may just have). */
async function ensureLabel(github, repo, name = LABEL, description = "A stack's cluster or GitHub objects differ from main (drift.yml)", color = "d93f0b") {
  try {
    await github.rest.issues.getLabel({ ...repo, name });
  } catch (e) {
    if (e.status !== 404) throw e;
    try {
      await github.rest.issues.createLabel({ ...repo, name, color, description });
    } catch (e2) {
      if (e2.status !== 422) throw e2; // already exists
    }
  }
}

/**
 * Opens, updates or closes the drift issue of `stack`.
 * @param {{github: any, context: any, core: any, stack: string, drift: string, diff?: string}} args
 *   `drift` is the preview step's output: "true" (changes proposed) or "false" (none).
 * @returns {Promise<{action: "opened" | "updated" | "closed" | "none", numbers: number[], changed?: boolean}>}
 */
async function reportDrift({ github, context, core, stack, drift, diff = "" }) {
  if (typeof stack !== "string" || !STACK_NAME.test(stack)) throw new Error(`not a stack name: ${JSON.stringify(stack)}`);
  if (drift !== "true" && drift !== "false") {
    throw new Error(`drift is ${JSON.stringify(drift)}, not "true" or "false": the preview step did not finish, so the issue is left as it is`);
  }
  const repo = { owner: context.repo.owner, repo: context.repo.repo };
  const base = `${context.serverUrl}/${repo.owner}/${repo.repo}`;
  const runUrl = `${base}/actions/runs/${context.runId}`;
  const open = await findIssues(github, repo, stack);

  if (drift === "false") {
    for (const issue of open) {
      await github.rest.issues.createComment({
        ...repo,
        issue_number: issue.number,
        body: `No drift any more: in [this run](${runUrl}), at commit \`${String(context.sha).slice(0, 12)}\`, \`pulumi preview --refresh --expect-no-changes\` of \`${stack}\` proposes no changes. Closing.`,
      });
      await github.rest.issues.update({ ...repo, issue_number: issue.number, state: "closed", state_reason: "completed" });
      core.notice(`${stack}: no drift; closed #${issue.number}`);
    }
    if (open.length === 0) core.info(`${stack}: no drift, and no open drift issue`);
    return { action: open.length > 0 ? "closed" : "none", numbers: open.map((i) => i.number) };
  }

  const body = driftBody({ stack, diff, runUrl, sha: context.sha, docsUrl: `${base}/blob/${context.sha}/docs/operations.md#drift` });
  await ensureLabel(github, repo);
  const issue = open[0];
  if (!issue) {
    const { data } = await github.rest.issues.create({ ...repo, title: issueTitle(stack), body, labels: [LABEL] });
    core.warning(`${stack}: drift; opened #${data.number} ${data.html_url ?? ""}`.trim());
    return { action: "opened", numbers: [data.number] };
  }
  const changed = DIGEST.exec(String(issue.body ?? ""))?.[1] !== digest(diff);
  await github.rest.issues.update({ ...repo, issue_number: issue.number, body });
  if (changed) {
    await github.rest.issues.createComment({
      ...repo,
      issue_number: issue.number,
      body: `The drift changed: [this run](${runUrl}) found a different diff; the description has it.`,
    });
  }
  core.warning(`${stack}: drift; updated #${issue.number}${changed ? " (the diff changed)" : " (same diff)"}`);
  return { action: "updated", numbers: [issue.number], changed };
}

module.exports = { reportDrift, driftBody, issueTitle, LABEL, BODY_LIMIT, digest, fence, cut, ensureLabel };
