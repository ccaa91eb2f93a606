/**
 * The project's own docs: the configuration reference is generated from the schema and never
 * stale, and nothing in README or docs/ points outside the repository.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { configurationReference, REFERENCE_FILE } from "../scripts/docs";
import { DEFAULTS } from "../components/config";

const ROOT = path.resolve(__dirname, "..");
const DOCS = ["README.md", ...fs.readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];

describe("Docs", () => {
  it("docs/configuration.md is what npm run docs generates from the schema (run it after changing a key or a default)", () => {
    assert.equal(fs.readFileSync(REFERENCE_FILE, "utf8"), configurationReference(), "docs/configuration.md is stale: run npm run docs");
  });

  it("the reference documents every key with its default from DEFAULTS", () => {
    const reference = configurationReference();
    for (const key of ["fleet:cluster.workers", "fleet:flux.web", "fleet:repository.keyGeneration", "fleet:tenants[].podSecurity", "fleet:tenants[].quota.cpu"]) {
      assert.match(reference, new RegExp(`### \`${key.replace(/[[\].]/g, "\\$&")}\``), key);
    }
    assert.match(reference, new RegExp(`### \`fleet:flux.operatorVersion\`[^#]*Default: \`${DEFAULTS.operatorVersion.replace(/\./g, "\\.")}\``));
    assert.match(reference, new RegExp(`### \`fleet:tenants\\[\\].podSecurity\`[^#]*Default: \`${DEFAULTS.podSecurity}\``));
  });

  it("README and docs/ link only inside the repository", () => {
    for (const file of DOCS) {
      const text = fs.readFileSync(path.join(ROOT, file), "utf8").replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");
      assert.doesNotMatch(text, /\.\.\/shared|shared\/DESIGN|DESIGN\.md|SEED\.md/, `${file} refers to a file outside the repository`);
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target)) continue; // a URL
        assert.ok(fs.existsSync(path.resolve(ROOT, path.dirname(file), target)), `${file} links ${target}, which is not in the repository`);
      }
    }
  });

  it("README is at most 200 lines", () => {
    const lines = fs.readFileSync(path.join(ROOT, "README.md"), "utf8").split("\n").length;
    assert.ok(lines <= 200, `README.md has ${lines} lines`);
  });
});
