import { defineConfig } from "tsup"

export default defineConfig({
  // Every module is an entry (a subpath of the package), besides `./api`.
  entry: ["src/*.ts", "src/entry/api.ts"],
  format: ["esm", "cjs"],
  sourcemap: true,
  clean: true,
  // The entries share their modules in CommonJS too, as in ESM: `./api`'s `Api` and
  // `ApiError` are the main entry's, so an `instanceof` holds across them.
  splitting: true,
  tsconfig: "tsconfig.build.json",
  // In the CommonJS build an `import()` (the Swagger UI, loaded on first use) becomes a
  // `require`: kept as `import()`, it loaded @effect/platform's ESM copy beside the CJS
  // one the rest uses, and its route was registered on a router nothing read (500).
  esbuildOptions: (options, context) => {
    if (context.format === "cjs") options.supported = { ...options.supported, "dynamic-import": false }
  }
})
