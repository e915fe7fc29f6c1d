import { defineConfig } from "tsup"

export default defineConfig({
  // Every module is an entry (a subpath of the package), besides `./conformance`; they
  // share their code in ESM and CommonJS alike.
  entry: ["src/*.ts", "src/entry/conformance.ts"],
  // CommonJS chunks go through sucrase, which turns `a ?? b` into a call taking `b` in
  // an arrow function: a `yield*` or `await` in `b` does not load (npm run test:pack
  // requires every entry).
  splitting: true,
  format: ["esm", "cjs"],
  sourcemap: true,
  clean: true,
  tsconfig: "tsconfig.build.json"
})
