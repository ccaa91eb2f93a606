/* global module, require */
/**
 * The one standing issue "Fleet status" (label `fleet-status`) for .github/workflows/status.yml
 * (docs/operations.md#fleet-status): its body is the last run's tenants × stacks matrix
 * (`npm run status -- --from …`). It is opened when there is none and stays open; every run
 * rewrites the body (which notifies nobody) and comments when the verdict changes (healthy or not)
 * or when the unhealthy cells change, so watchers hear of what needs someone. Everything comes in
 * as arguments (github-script's `github`, `context` and `core`, and plain strings), so the tests
 * run it against a fake GitHub.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- github-script loads this file with require, as CommonJS
const { BODY_LIMIT, cut, digest, ensureLabel, fence } = require("../drift-issue/drift-issue.js");

const LABEL = "fleet-status";
const TITLE = "Fleet status";
const MARKER = "<!-- fleet-status -->";
const STATE = /<!-- fleet-status-state (healthy|unhealthy) ([0-9a-f]{8}) -->/;

/**
 * What is unhealthy, without ages or revisions: the `unhealthy: …` line `npm run status -- --from`
 * ends with (the whole text when it has none), so the digest changes only when the cells do.
 */
const unhealthyKey = (text) => digest(/^unhealthy: .*$/m.exec(text)?.[0] ?? text);

/** The issue's body: the verdict, the run, what the cells mean, and the matrix in a code block. */
function statusBody({ text, unhealthy, runUrl, sha, docsUrl, limit = BODY_LIMIT }) {
  const head = [
    MARKER,
    `<!-- fleet-status-state ${unhealthy ? "unhealthy" : "healthy"} ${unhealthyKey(text)} -->`,
    unhealthy
      ? "**Something needs someone**: a tenant is Failing, Stalled or Missing on a stack, one of its own Kustomizations or HelmReleases fails, or a stack could not be read (below)."
      : "Every tenant is Ready, Suspended or Progressing on every stack that was checked.",
    "",
    `- Last checked: [this run](${runUrl}), at commit \`${String(sha).slice(0, 12)}\`.`,
    `- A cell: the tenant's sync state on that stack's cluster, the revision it applied (\`behind\` when its branch has moved on), and for how long ([docs/operations.md › Fleet status](${docsUrl})).`,
    "- This issue stays open: every scheduled run rewrites it, and comments when the verdict or the unhealthy cells change.",
    "",
  ].join("\n");
  const shown = cut(text.trimEnd() || "(no stack was read)", limit - head.length - 2 * (fence(text).length + 1));
  const f = fence(shown);
  return `${head}${f}\n${shown}\n${f}`;
}

/**
 * Opens or rewrites the Fleet status issue.
 * @param {{github: any, context: any, core: any, text: string, unhealthy: string}} args
 *   `unhealthy` is the render step's output: "true" or "false".
 * @returns {Promise<{action: "opened" | "updated", number: number, commented: boolean}>}
 */
async function reportStatus({ github, context, core, text, unhealthy }) {
  if (unhealthy !== "true" && unhealthy !== "false") {
    throw new Error(`unhealthy is ${JSON.stringify(unhealthy)}, not "true" or "false": the matrix was not rendered, so the issue is left as it is`);
  }
  const bad = unhealthy === "true";
  const repo = { owner: context.repo.owner, repo: context.repo.repo };
  const base = `${context.serverUrl}/${repo.owner}/${repo.repo}`;
  const runUrl = `${base}/actions/runs/${context.runId}`;
  const body = statusBody({ text, unhealthy: bad, runUrl, sha: context.sha, docsUrl: `${base}/blob/${context.sha}/docs/operations.md#fleet-status` });
  const open = (await github.paginate(github.rest.issues.listForRepo, { ...repo, state: "open", labels: LABEL, per_page: 100 }))
    .filter((i) => !i.pull_request && (i.title === TITLE || String(i.body ?? "").startsWith(MARKER)))
    .sort((a, b) => a.number - b.number);
  await ensureLabel(github, repo, LABEL, "The fleet's tenants × stacks, kept up to date by status.yml", "0e8a16");
  const say = bad ? core.warning : core.notice;
  const issue = open[0];
  if (!issue) {
    const { data } = await github.rest.issues.create({ ...repo, title: TITLE, body, labels: [LABEL] });
    say(`fleet status: ${bad ? "unhealthy" : "healthy"}; opened #${data.number}`);
    return { action: "opened", number: data.number, commented: false };
  }
  const before = STATE.exec(String(issue.body ?? ""));
  await github.rest.issues.update({ ...repo, issue_number: issue.number, body });
  const was = before?.[1];
  const comment =
    was !== (bad ? "unhealthy" : "healthy")
      ? bad ? `**Now unhealthy**, in [this run](${runUrl}): the description has the matrix.` : `Healthy again, in [this run](${runUrl}).`
      : bad && before?.[2] !== unhealthyKey(text) ? `The unhealthy cells changed, in [this run](${runUrl}): the description has the matrix.` : undefined;
  if (comment) await github.rest.issues.createComment({ ...repo, issue_number: issue.number, body: comment });
  say(`fleet status: ${bad ? "unhealthy" : "healthy"}; updated #${issue.number}${comment ? " (commented)" : ""}`);
  return { action: "updated", number: issue.number, commented: Boolean(comment) };
}

module.exports = { reportStatus, statusBody, LABEL, TITLE };
