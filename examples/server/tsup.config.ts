import { defineConfig } from "tsup"

/** The server as plain JavaScript (`npm run build`), for `node dist/main.js` in production. */
export default defineConfig({
  entry: ["src/main.ts"],
  format: ["esm"],
  platform: "node",
  target: "node20",
  sourcemap: true,
  clean: true,
  skipNodeModulesBundle: true
})
