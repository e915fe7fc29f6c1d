import { defineConfig } from "tsup"

export default defineConfig({
  // Every module is an entry (a subpath of the package), sharing its code with the
  // others in ESM and CommonJS alike, so that `@zhongbao/…/Module` and the main entry's
  // namespace hold the same objects.
  entry: ["src/*.ts"],
  // CommonJS chunks go through sucrase, which turns `a ?? b` into a call taking `b` in
  // an arrow function: a `yield*` or `await` in `b` does not load (npm run test:pack
  // requires every entry).
  splitting: true,
  format: ["esm", "cjs"],
  sourcemap: true,
  clean: true,
  tsconfig: "tsconfig.build.json"
})
