// ESLint (flat config): typescript-eslint's strict type-aware rules plus the project's money rule.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import globals from "globals";

/**
 * Money, prices and quantities are decimal strings from the core API and must never become JavaScript
 * numbers (a float cannot hold 0.1; `parseFloat("177.33970588")` is already wrong at the 17th digit). These
 * are the ways a string turns into a number; they are refused everywhere in the UI except `src/lib/int.ts`,
 * the one place that reads small integers (counts, calendar days) with a check. `test/lint.test.ts` proves
 * the rule fires.
 */
export const moneyRules = {
  "no-restricted-globals": [
    "error",
    { name: "parseFloat", message: "money is decimal text: format it with lib/format, never parse it" },
    { name: "parseInt", message: "use lib/int's checked integer reader (money is never parsed)" },
  ],
  "no-restricted-syntax": [
    "error",
    {
      selector: "CallExpression[callee.name='Number']",
      message: "Number(...) turns decimal text into a float: money stays a string (lib/format displays it)",
    },
    {
      selector: "MemberExpression[object.name='Number'][property.name=/^(parseFloat|parseInt)$/]",
      message: "money is decimal text: never parse it into a float",
    },
    {
      selector: "UnaryExpression[operator='+'][argument.type!='Literal']",
      message: "unary + turns text into a float: money stays a string",
    },
    {
      selector:
        "BinaryExpression[operator=/^[-*\\/%]$/][left.type='MemberExpression'][left.property.name=/(pnl|price|quantity|fees|equity|balance|risk|amount|stop|notional|budget|profit|loss|drawdown)/i]",
      message: "arithmetic on a money field: the core computes every amount",
    },
  ],
};

export default tseslint.config(
  { ignores: ["dist", "node_modules", "src/bindings", "coverage"] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.browser },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      ...moneyRules,
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
      "@typescript-eslint/no-confusing-void-expression": "off",
      "@typescript-eslint/no-floating-promises": ["error", { ignoreVoid: true }],
      // Event handlers may be async: every one of them catches its own errors (forms place them on fields).
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { attributes: false } }],
    },
  },
  {
    files: ["src/lib/int.ts"],
    rules: { "no-restricted-syntax": "off", "no-restricted-globals": "off" },
  },
  {
    files: ["eslint.config.js", "scripts/**/*.mjs"],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { ...globals.node } },
  },
);
