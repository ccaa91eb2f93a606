/* global module, require */
const fs = require("fs"); // eslint-disable-line @typescript-eslint/no-require-imports -- a plain CommonJS script that node runs as it is
/**
 * What `pulumi preview --refresh --expect-no-changes` says about drift, for drift.yml:
 *
 *   node .github/actions/drift-issue/preview-verdict.js <exit status> <stdout file> <stderr file>
 *
 * prints `drift=true|false` and `preview=clean|changes|conflict|failed`, a line each, for
 * $GITHUB_OUTPUT, and exits 0 (2 on a usage error).
 *
 * Every exit but 0 is drift to report. A preview that cannot finish cannot vouch for the stack,
 * and the commonest reason it cannot is drift itself: a field the program owns that someone
 * changed with kubectl (`kubectl label`, `kubectl patch`) makes the provider's server-side apply
 * dry run fail with a field conflict instead of showing a change (seen on the rig, real tier 1i).
 * A check that counted only "changes were proposed" went silent for that drift, and for every
 * other drift of the stack with it. Tested on the rig's real preview outputs (test/real/fleet.spec.ts,
 * 1i) and offline (test/workflows.spec.ts).
 */

/**
 * The CLI's "no changes were expected" error at the start of a line: status 7 since the CLI has
 * that exit code, another status before. A value read from the cluster is printed indented in a
 * diff, so it cannot pose as this line.
 */
const CHANGES = /^(error: )+no changes were expected/m;

/**
 * A server-side apply conflict as pulumi-kubernetes reports it ("Server-Side Apply field conflict
 * detected"), or the API server's own words for it ("Apply failed with N conflict(s)"), on a
 * diagnostic line (`error: …`, or a `* …` item of one): not anywhere in a diff, whose values come
 * from the cluster.
 */
const CONFLICT = /^[ \t]*(?:error: |\* ).*(?:Server-Side Apply field conflict detected|Apply failed with \d+ conflicts?)/m;

/** @returns {{drift: boolean, preview: "clean" | "changes" | "conflict" | "failed"}} */
function previewVerdict(status, stdout, stderr) {
  if (status === 0) return { drift: false, preview: "clean" };
  if (CONFLICT.test(`${stdout}\n${stderr}`)) return { drift: true, preview: "conflict" };
  if (status === 7 || CHANGES.test(stderr) || CHANGES.test(stdout)) return { drift: true, preview: "changes" };
  return { drift: true, preview: "failed" };
}

module.exports = { previewVerdict };

if (require.main === module) {
  const [status, out, err] = process.argv.slice(2);
  if (!/^\d+$/.test(status || "") || !out || !err) {
    console.error("usage: preview-verdict.js <exit status> <stdout file> <stderr file>");
    process.exit(2);
  }
  const read = (f) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "");
  const v = previewVerdict(Number(status), read(out), read(err));
  console.log(`drift=${v.drift}\npreview=${v.preview}`);
}
