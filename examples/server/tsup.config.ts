import { defineConfig } from "tsup"

/**
 * The server as plain JavaScript (`npm run build`), for `node dist/main.js` in
 * production, its first operator's command, `node dist/operator.js <name> <phone>`, and
 * its migrations on their own, `node dist/migrate.js`.
 */
export default defineConfig({
  entry: ["src/main.ts", "src/operator.ts", "src/migrate.ts"],
  format: ["esm"],
  platform: "node",
  target: "node20",
  sourcemap: true,
  clean: true,
  skipNodeModulesBundle: true
})
