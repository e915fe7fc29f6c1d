// The declarations of one published package (its `build` runs `tsup && node
// ../../scripts/declarations.mjs`): one `.d.ts` per module, as TypeScript writes them,
// in dist/dts for ESM consumers and again in dist/dts-cjs for CommonJS ones.
//
// Why per module, not one bundle: a bundle (tsup's `dts`, rollup-plugin-dts) declares a
// namespace's members under aliases (`Settings_Settings`), which a consumer's TypeScript
// cannot name, so a library that exports a value typed by ours with `declaration: true`
// (`export const layer = Zhongbao.layer`) failed with TS4023; the bundler also dropped a
// name's value or type meaning (what scripts/fix-dts.mjs used to repair). Per-module
// declarations keep every module as written, and each module is a subpath of its package
// (`@zhongbao/core/Persistence`, built by tsup as an entry too), by which a consumer's
// declarations name its types.
//
// Why a copy for CommonJS: the packages are `"type": "module"`, so TypeScript reads a
// `.d.ts` of theirs as ESM, which a CommonJS consumer cannot `require` (TS1479). The copy's
// folder has a package.json of `"type": "commonjs"`, the same files read as CommonJS.
//
// `tsc -b` builds the referenced packages' declarations first (tsconfig.build.json's
// `references`), so a package builds on its own in a clean clone.
import { execFileSync } from "node:child_process"
import fs from "node:fs"
import path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

/** Writes dist/dts (tsc -b) and its CommonJS copy dist/dts-cjs for the package in `dir`. */
export const writeDeclarations = (dir) => {
  const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc")
  execFileSync(process.execPath, [tsc, "-b", "tsconfig.build.json"], {
    cwd: dir,
    stdio: "inherit"
  })
  const esm = path.join(dir, "dist", "dts")
  const cjs = path.join(dir, "dist", "dts-cjs")
  fs.rmSync(cjs, { recursive: true, force: true })
  fs.cpSync(esm, cjs, { recursive: true, filter: (file) => !file.endsWith(".tsbuildinfo") })
  fs.writeFileSync(path.join(cjs, "package.json"), `${JSON.stringify({ type: "commonjs" })}\n`)
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  writeDeclarations(path.resolve(process.argv[2] ?? "."))
