// npm run check:packages — is every published package ready for npm?
// Builds what is missing or stale, packs each package once (npm pack), then on each
// tarball runs publint (--strict: warnings fail) and @arethetypeswrong/cli (profile
// strict: node10, node16 from CJS and from ESM, bundler), plus this workspace's own
// package.json rules (exports map shape, exact versions, peers as a caret on the tested
// version, files, metadata).
// Exit code 1 when anything fails.
import { execFile } from "node:child_process"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { promisify } from "node:util"
import { ensureBuilt, modulesOf, pack, publishedPackages, root } from "./packages.mjs"

const run = promisify(execFile)
const bin = (name) => path.join(root, "node_modules", ".bin", name)
const started = Date.now()
const seconds = () => `${((Date.now() - started) / 1000).toFixed(1)} s`

const exact = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/

/**
 * A peer's range: a caret on the version this workspace installs and tests it with
 * (`node_modules`), so that a host on a later patch (or, from 1.0, a later minor)
 * installs without ERESOLVE, and never on another major (effect 4 needs Node 22).
 */
const peerRange = (name, range) => {
  const file = path.join(root, "node_modules", name, "package.json")
  const tested = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")).version : undefined
  return tested !== undefined && range === `^${tested}`
}

/** This workspace's rules; returns [errors, warnings]. */
const ownRules = (p, files, workspace) => {
  const errors = []
  const warnings = []
  const { pkg } = p
  const inTarball = (file) => files.includes(file.replace(/^\.\//, ""))

  for (const field of [
    "description",
    "license",
    "repository",
    "engines",
    "files",
    "exports",
    "main",
    "types"
  ]) {
    if (pkg[field] === undefined) errors.push(`package.json has no "${field}"`)
  }
  if (typeof pkg.sideEffects !== "boolean" && !Array.isArray(pkg.sideEffects)) {
    errors.push(`package.json has no "sideEffects"`)
  }
  if (!pkg.engines?.node) errors.push(`package.json has no "engines.node"`)
  const dir = path.relative(root, p.dir).split(path.sep).join("/")
  if (pkg.repository?.directory !== dir) errors.push(`"repository.directory" should be "${dir}"`)

  // Every module of src/ is a subpath (`@zhongbao/core/Persistence`), as effect's are:
  // TypeScript names a module's types by it in a consumer's declarations, and an editor
  // offers it to import from, so it must load at run time too (tsup builds each as an
  // entry); node10 finds its declarations through typesVersions.
  for (const { module: m } of modulesOf(p)) {
    if (pkg.exports?.[`./${m}`]?.["@zhongbao/source"] !== `./src/${m}.ts`)
      errors.push(`exports has no "./${m}" for src/${m}.ts`)
    if (pkg.typesVersions?.["*"]?.[m]?.[0] !== `./dist/dts/${m}.d.ts`)
      errors.push(`typesVersions["*"] has no "${m}": ["./dist/dts/${m}.d.ts"]`)
  }
  // scripts/declarations.mjs: the declarations for CommonJS are a copy in dist/dts-cjs,
  // whose package.json makes them CommonJS
  if (!inTarball("dist/dts-cjs/package.json"))
    errors.push(`dist/dts-cjs/package.json (of "type": "commonjs") is not in the tarball`)
  else if (
    JSON.parse(fs.readFileSync(path.join(p.dir, "dist/dts-cjs/package.json"), "utf8")).type !== "commonjs"
  )
    errors.push(`dist/dts-cjs/package.json should say "type": "commonjs"`)
  const stale = files.filter((f) => f.endsWith(".tsbuildinfo"))
  if (stale.length > 0) errors.push(`build information in the tarball: ${stale.join(", ")}`)

  for (const [subpath, entry] of Object.entries(pkg.exports ?? {})) {
    if (subpath === "./package.json") continue
    if (typeof entry !== "object" || entry === null) {
      errors.push(`exports["${subpath}"] should be an object of conditions`)
      continue
    }
    const keys = Object.keys(entry)
    if (keys[0] !== "@zhongbao/source") {
      errors.push(`exports["${subpath}"]: "@zhongbao/source" must be the first condition`)
    } else if (!/^\.\/src\/.+\.ts$/.test(entry["@zhongbao/source"])) {
      errors.push(`exports["${subpath}"]["@zhongbao/source"] should point at ./src/*.ts`)
    }
    for (const [condition, typesDir, js] of [
      ["import", "./dist/dts/", ".js"],
      ["require", "./dist/dts-cjs/", ".cjs"]
    ]) {
      const c = entry[condition]
      if (!c || typeof c !== "object") {
        errors.push(`exports["${subpath}"] has no "${condition}": { types, default }`)
        continue
      }
      if (Object.keys(c)[0] !== "types")
        errors.push(`exports["${subpath}"].${condition}: "types" must come first`)
      if (!c.types?.startsWith(typesDir) || !c.types.endsWith(".d.ts")) {
        errors.push(`exports["${subpath}"].${condition}.types should be ${typesDir}*.d.ts`)
      } else if (!inTarball(c.types)) {
        errors.push(`exports["${subpath}"].${condition}.types names ${c.types}, not in the tarball`)
      }
      if (c.default && !inTarball(c.default))
        errors.push(`exports["${subpath}"].${condition}.default names ${c.default}, not in the tarball`)
      if (!c.default?.startsWith("./dist/") || !c.default.endsWith(js)) {
        errors.push(`exports["${subpath}"].${condition}.default should be ./dist/*${js}`)
      }
    }
    for (const k of keys) {
      if (!["@zhongbao/source", "import", "require"].includes(k)) {
        errors.push(`exports["${subpath}"]: unexpected condition "${k}"`)
      }
    }
    // The source condition only activates with --conditions=@zhongbao/source; its target still
    // ships so that the exports map never names a file missing from the tarball.
    if (entry["@zhongbao/source"] && !inTarball(entry["@zhongbao/source"])) {
      errors.push(
        `exports["${subpath}"]["@zhongbao/source"] names ${entry["@zhongbao/source"]}, not in the tarball`
      )
    }
  }
  if (!pkg.exports?.["./package.json"]) warnings.push(`exports has no "./package.json"`)

  for (const field of ["dependencies", "peerDependencies", "devDependencies", "optionalDependencies"]) {
    for (const [name, range] of Object.entries(pkg[field] ?? {})) {
      if (workspace.has(name)) {
        if (range !== workspace.get(name)) {
          errors.push(`${field}["${name}"] is "${range}", the workspace has ${workspace.get(name)}`)
        }
      } else if (field === "peerDependencies") {
        if (!peerRange(name, range))
          errors.push(
            `peerDependencies["${name}"] is "${range}", not a caret on the exact version the workspace tests`
          )
      } else if (!exact.test(range)) {
        errors.push(`${field}["${name}"] is "${range}", not an exact version`)
      }
    }
  }

  if (!files.includes("README.md")) errors.push("README.md is not in the tarball")
  if (!files.some((f) => /^LICEN[CS]E(\.md|\.txt)?$/i.test(f)))
    warnings.push("no LICENSE file in the tarball")
  const stray = files.filter(
    (f) => /(^|\/)(test|tests|__tests__)\//.test(f) || /\.(test|spec)\.[cm]?[jt]s$/.test(f)
  )
  if (stray.length > 0) errors.push(`test files in the tarball: ${stray.slice(0, 3).join(", ")}`)
  const configs = files.filter((f) => /^(tsconfig.*\.json|tsup\.config\.ts|vitest\.config\.ts)$/.test(f))
  if (configs.length > 0) warnings.push(`build configuration in the tarball: ${configs.join(", ")}`)
  return [errors, warnings]
}

const packages = publishedPackages()
const built = ensureBuilt(packages)
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "zhongbao-check-"))
const attwArgs = process.argv.slice(2) // e.g. --profile node16
let failed = 0
try {
  const tarballs = pack(packages, tmp)
  const workspace = new Map(packages.map((p) => [p.name, p.version]))
  console.log(
    `built ${built.length > 0 ? built.join(", ") : "nothing (dist up to date)"}; packed in ${seconds()}`
  )

  const check = async (p) => {
    const { file, files, info } = tarballs.get(p.name)
    const lines = [
      `── ${p.name}@${p.version}: ${files.length} files, ${(info.size / 1024).toFixed(0)} kB packed`
    ]
    let ok = true
    const [errors, warnings] = ownRules(p, files, workspace)
    for (const e of errors) lines.push(`  ✗ ${e}`)
    for (const w of warnings) lines.push(`  ! ${w}`)
    if (errors.length > 0) ok = false
    for (const [tool, args] of [
      ["publint", ["run", file, "--strict", "--level", "suggestion"]],
      ["attw", [file, "--format", "ascii", "--no-color", "--no-emoji", ...attwArgs]]
    ]) {
      try {
        const { stdout, stderr } = await run(bin(tool), args, { cwd: root, maxBuffer: 16 * 1024 * 1024 })
        const text = `${stdout}${stderr}`
        // publint --strict exits 1 on warnings; its suggestions are printed and not fatal
        lines.push(`  ✓ ${tool}${/suggestion/i.test(text) ? `\n${indent(text)}` : ""}`)
      } catch (e) {
        ok = false
        lines.push(`  ✗ ${tool} failed (exit ${e.code}):\n${indent(`${e.stdout ?? ""}${e.stderr ?? ""}`)}`)
      }
    }
    lines[0] += ok ? " — ok" : " — FAILED"
    return { ok, text: lines.join("\n") }
  }

  // two at a time: attw loads TypeScript, the machine may be busy with other work
  const results = []
  for (let i = 0; i < packages.length; i += 2) {
    results.push(...(await Promise.all(packages.slice(i, i + 2).map(check))))
  }
  for (const r of results) {
    console.log(r.text)
    if (!r.ok) failed++
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true })
}
console.log(
  `check:packages: ${packages.length - failed} of ${packages.length} packages pass publint, attw and the package rules (${seconds()})`
)
process.exit(failed > 0 ? 1 : 0)

function indent(text) {
  return text
    .trim()
    .split("\n")
    .map((l) => `      ${l}`)
    .join("\n")
}
