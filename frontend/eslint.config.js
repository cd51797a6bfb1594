import js from "@eslint/js";
import globals from "globals";
import reactHooks from "eslint-plugin-react-hooks";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist", ".vercel", "test-results", "playwright-report", "src/lib/api-types.ts"] },
  {
    files: ["**/*.{ts,tsx}"],
    extends: [js.configs.recommended, ...tseslint.configs.recommended, reactHooks.configs.flat.recommended],
    languageOptions: { ecmaVersion: 2023, globals: { ...globals.browser, ...globals.node } },
    rules: {
      // One API client module calls fetch; everything else goes through it.
      "no-restricted-globals": ["error", { name: "fetch", message: "Call the API through src/lib/api.ts." }],
    },
  },
  { files: ["src/lib/api.ts", "src/**/*.test.{ts,tsx}", "e2e/**", "scripts/**"], rules: { "no-restricted-globals": "off" } },
);
