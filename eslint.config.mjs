// Lint: ESLint's recommended rules plus typescript-eslint's, over the program, components, tests and scripts;
// and the layering of docs/architecture.md ("Layout"): no import circle, and no import that runs back up.
import path from "node:path";
import { fileURLToPath } from "node:url";
import js from "@eslint/js";
import importX, { createNodeResolver } from "eslint-plugin-import-x";
import tseslint from "typescript-eslint";

const root = path.dirname(fileURLToPath(import.meta.url));
/** The composing components: they wire the rooms below them, and nothing below imports them. */
const composing = ["components/flux.ts", "components/tenant.ts", "components/policy.ts"];

export default tseslint.config(
  { ignores: ["node_modules/**", ".rig/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["**/*.mjs", "**/*.js"],
    languageOptions: { globals: { process: "readonly", console: "readonly" } },
  },
  // Layering. Each zone: files in `target` may not import files in `from`. Type-only imports count
  // here too; import-x/no-cycle follows run-time imports only (a circle of types alone is harmless
  // to Node, and the config/ leaves below keep the one the schema had away).
  {
    files: ["**/*.ts"],
    plugins: { "import-x": importX },
    settings: {
      "import-x/extensions": [".ts", ".js", ".mjs", ".cjs"],
      "import-x/parsers": { "@typescript-eslint/parser": [".ts"] },
      "import-x/resolver-next": [createNodeResolver({ extensions: [".ts", ".js", ".json", ".node"] })],
    },
    rules: {
      "import-x/no-cycle": ["error", { ignoreExternal: true }],
      "import-x/no-restricted-paths": [
        "error",
        {
          basePath: root,
          zones: [
            {
              target: ["components/github", "components/cluster"],
              from: composing,
              message: "github/ and cluster/ never import the composing components (flux.ts, tenant.ts, policy.ts): those import them.",
            },
            { target: "components/github", from: "components/cluster", message: "github/ and cluster/ are separate rooms; what both need goes below them (config/, manifests/, constants.ts)." },
            { target: "components/cluster", from: "components/github", message: "github/ and cluster/ are separate rooms; what both need goes below them (config/, manifests/, constants.ts)." },
            {
              target: ["components/config", "components/manifests", "components/constants.ts"],
              from: ["components/github", "components/cluster", "components/perf.ts", ...composing],
              message: "config/, manifests/ and constants.ts are below every component: they import none.",
            },
            {
              target: "components/manifests",
              from: "components/config",
              except: ["./types.ts", "./defaults.ts"],
              message: "manifests/ reads config/ only through its leaves, types.ts and defaults.ts (config/index.ts loads the SDK and the rules, which import manifests/).",
            },
            {
              target: ["components/config/defaults.ts", "components/config/types.ts"],
              from: "components/config",
              message: "defaults.ts and types.ts are config/'s leaves: the schema reads them, so they import nothing of config/ (no circle).",
            },
            { target: "components", from: ["index.ts", "scripts", "test"], message: "components/ never imports the program, scripts/ or test/." },
            {
              target: "scripts/lib",
              from: path.join(root, "scripts/*.ts"),
              message: "scripts/lib/ is what the commands share: it never imports a command.",
            },
            {
              target: path.join(root, "scripts/*.ts"),
              from: path.join(root, "scripts/*.ts"),
              message: "No command imports another command: move what they share into scripts/lib/.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["components/manifests/**/*.ts"],
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["@pulumi/*", "@pulumi/**"],
              allowTypeImports: true,
              message: "manifests/ holds pure builders: nothing from @pulumi/* at run time (`import type` is fine).",
            },
          ],
        },
      ],
    },
  },
  {
    // GitHub's REST API is asked only through components/github/client.ts (its pacing and retries).
    files: ["index.ts", "components/**/*.ts", "scripts/**/*.ts"],
    ignores: ["components/github/client.ts"],
    rules: {
      "no-restricted-globals": ["error", { name: "fetch", message: "GitHub's REST API goes through components/github/client.ts (fetchGitHub); nothing else in the program fetches." }],
    },
  },
);
