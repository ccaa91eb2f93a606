/**
 * The URNs of the example stacks, pinned. A URN is a resource's identity in state: a program
 * change that renames one makes Pulumi delete the old resource and create a new one (a namespace
 * with everything in it, a repository's deploy key, a Flux object that prunes). So any change
 * fails here until it is looked at:
 * - a URN that is only added: a new resource; record it (below);
 * - a URN that is gone while its resource lives on under a new name: add
 *   `aliases: [{ name: "<old name>" }]` (or `parent`/`type`, whichever changed) to the new
 *   resource's options, so the engine moves it instead (docs/operations.md, "Upgrading the
 *   program"), then record.
 * Record with: UPDATE_URN_SNAPSHOTS=1 npx mocha --no-config -r ts-node/register test/urns.spec.ts
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { runProgram, stackConfig } from "./harness";

const DIR = path.join(__dirname, "urns");

describe("URN snapshots of the example stacks", () => {
  for (const stack of ["staging", "production"]) {
    it(`Pulumi.${stack}.yaml registers exactly the URNs in test/urns/${stack}.txt`, async () => {
      const result = await runProgram({ stack, config: stackConfig(stack) });
      assert.equal(result.error, undefined, result.error?.message);
      const urns = [...new Set(result.resources.map((r) => r.urn))].sort();
      const file = path.join(DIR, `${stack}.txt`);
      if (process.env.UPDATE_URN_SNAPSHOTS) fs.writeFileSync(file, `${urns.join("\n")}\n`);
      const pinned = fs.readFileSync(file, "utf8").split("\n").filter((l) => l.length > 0);
      const gone = pinned.filter((u) => !urns.includes(u));
      const added = urns.filter((u) => !pinned.includes(u));
      assert.ok(
        gone.length === 0 && added.length === 0,
        `URNs changed in ${stack}:\n${gone.map((u) => `  - ${u}`).join("\n")}\n${added.map((u) => `  + ${u}`).join("\n")}\n` +
          "A gone URN whose resource lives on needs an alias on the new one; see this file's header, then record the snapshot.",
      );
    });
  }
});
