import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "data/**", "eslint.config.js"] },
  {
    files: ["src/**/*.ts", "tests/**/*.ts", "bench/**/*.ts", "examples/**/*.ts"],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { project: "./tsconfig.json" } },
    rules: {
      "@typescript-eslint/no-floating-promises": [
        "error",
        { allowForKnownSafeCalls: [{ from: "package", package: "node:test", name: ["test", "it", "describe", "suite"] }] },
      ],
      "@typescript-eslint/no-explicit-any": "error",
    },
  },
  {
    // Stores own persistence (docs/design.md): the STAN adapter keeps its state through JetStream.
    files: ["src/stan/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { paths: ["fs", "fs/promises", "node:fs", "node:fs/promises"].map((name) => ({ name, message: "stan/ keeps its state through JetStream's stores, not files of its own" })) }],
    },
  },
);
