import { defineConfig } from "tsup"

export default defineConfig({
  entry: { index: "src/index.ts", conformance: "src/entry/conformance.ts" },
  format: ["esm", "cjs"],
  sourcemap: true,
  clean: true,
  tsconfig: "tsconfig.build.json"
})
