import { defineConfig } from "tsup"

/**
 * The server as plain JavaScript (`npm run build`), for `node dist/main.js` in
 * production, and its first operator's command, `node dist/operator.js <name> <phone>`.
 */
export default defineConfig({
  entry: ["src/main.ts", "src/operator.ts"],
  format: ["esm"],
  platform: "node",
  target: "node20",
  sourcemap: true,
  clean: true,
  skipNodeModulesBundle: true
})
