// npm run test:pack — the published packages as a consumer gets them.
// Packs every published package (npm pack), installs the tarballs into a scratch project
// in the system's temp folder (outside the workspace: its own package.json, no workspace
// links, dependencies and peers from the npm cache, or the registry when the cache lacks
// something), then:
//   - imports each package from ESM (node --input-type=module) and CommonJS (node -e),
//     asserting a known export and that dist (not src) was loaded;
//   - checks @zhongbao/testing/conformance resolves from both (it registers vitest tests,
//     so it is resolved, not run);
//   - checks a single copy of effect is installed (the packages take it as a peer);
//   - type-checks a consumer file of each kind (module node16, ESM and CJS) against the
//     installed declarations, writing the consumer's own declarations of values typed by ours
//     (as a province's library does with `declaration: true`).
// Set KEEP=1 to keep the scratch folder. Exit code 1 when anything fails.
import { execFileSync, spawnSync } from "node:child_process"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { cleanNpmEnv, ensureBuilt, modulesOf, pack, publishedPackages, root } from "./packages.mjs"

const started = Date.now()
const seconds = () => `${((Date.now() - started) / 1000).toFixed(1)} s`

// One known export per entry point: [specifier, binding, property path, expected typeof]
const probes = [
  ["@zhongbao/core", "Zhongbao", "layer", "object"],
  ["@zhongbao/testing", "Fixtures", "makeWorld", "object"],
  ["@zhongbao/adapter-sms", "ConsoleSms", "layer", "object"],
  ["@zhongbao/adapter-http", "Api", "Api", "function"],
  ["@zhongbao/adapter-http/api", "Api", "Api", "function"],
  ["@zhongbao/adapter-pg", "PgPersistence", "layer", "function"]
]
const resolveOnly = ["@zhongbao/testing/conformance"]

const packages = publishedPackages()
const packageOf = (spec) => spec.split("/").slice(0, 2).join("/")
for (const [spec] of probes) {
  if (!packages.some((p) => p.name === packageOf(spec))) throw new Error(`${spec} is not a published package`)
}
const missingProbe = packages.filter((p) => !probes.some(([spec]) => spec === p.name))
if (missingProbe.length > 0)
  throw new Error(`no import probe for ${missingProbe.map((p) => p.name).join(", ")}`)

const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "zhongbao-pack-")))
const project = path.join(tmp, "consumer")
const failures = []
const check = (label, fn) => {
  try {
    const detail = fn()
    console.log(`  ✓ ${label}${detail ? ` — ${detail}` : ""}`)
  } catch (e) {
    failures.push(label)
    const output = `${e.stdout ?? ""}${e.stderr ?? ""}`.trim() || String(e.message ?? e)
    console.log(`  ✗ ${label}\n${output.trim().replace(/^/gm, "      ")}`)
  }
}

try {
  const built = ensureBuilt(packages)
  const tarballs = pack(packages, path.join(tmp, "tarballs"))
  console.log(
    `packed ${packages.length} packages${built.length ? ` (built ${built.join(", ")})` : ""} in ${seconds()}`
  )

  fs.mkdirSync(project)
  const dependencies = Object.fromEntries(
    packages.map((p) => [p.name, `file:${path.relative(project, tarballs.get(p.name).file)}`])
  )
  fs.writeFileSync(
    path.join(project, "package.json"),
    `${JSON.stringify({ name: "zhongbao-consumer", version: "1.0.0", private: true, dependencies }, null, 2)}\n`
  )
  const install = (extra) =>
    spawnSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", ...extra], {
      cwd: project,
      env: cleanNpmEnv(),
      encoding: "utf8"
    })
  let how = "--offline"
  let result = install(["--offline"])
  if (result.status !== 0) {
    console.log(
      `npm install --offline failed (${result.stderr.trim().split("\n").at(-1)}); trying the registry`
    )
    how = "--prefer-offline"
    result = install(["--prefer-offline"])
  }
  if (result.status !== 0) throw new Error(`npm install failed:\n${result.stdout}${result.stderr}`)
  console.log(`installed the tarballs into ${project} (npm install ${how}) in ${seconds()}`)

  const node = (args) =>
    execFileSync(process.execPath, args, {
      cwd: project,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"]
    }).trim()
  const underDist = (spec, file, ext) => {
    const rel = path.relative(path.join(project, "node_modules", spec.split("/").slice(0, 2).join("/")), file)
    if (!rel.startsWith(`dist${path.sep}`) || !rel.endsWith(ext))
      throw new Error(`${spec} resolved to ${file}`)
    return rel
  }

  console.log("ESM (import):")
  for (const [spec, binding, prop, type] of probes) {
    check(`import { ${binding} } from "${spec}"; typeof ${binding}.${prop} === "${type}"`, () => {
      const out = node([
        "--input-type=module",
        "-e",
        `import { ${binding} } from ${JSON.stringify(spec)}
         const t = typeof ${binding}?.${prop}
         if (t !== ${JSON.stringify(type)}) throw new Error("typeof ${binding}.${prop} is " + t)
         console.log(new URL(import.meta.resolve(${JSON.stringify(spec)})).pathname)`
      ])
      return underDist(spec, out, ".js")
    })
  }
  for (const spec of resolveOnly) {
    check(`import.meta.resolve("${spec}")`, () =>
      underDist(
        spec,
        node([
          "--input-type=module",
          "-e",
          `console.log(new URL(import.meta.resolve(${JSON.stringify(spec)})).pathname)`
        ]),
        ".js"
      )
    )
  }

  console.log("CommonJS (require):")
  for (const [spec, binding, prop, type] of probes) {
    check(`require("${spec}").${binding}.${prop} is a ${type}`, () => {
      const out = node([
        "-e",
        `const { ${binding} } = require(${JSON.stringify(spec)})
         const t = typeof ${binding}?.${prop}
         if (t !== ${JSON.stringify(type)}) throw new Error("typeof ${binding}.${prop} is " + t)
         console.log(require.resolve(${JSON.stringify(spec)}))`
      ])
      return underDist(spec, out, ".cjs")
    })
  }
  for (const spec of resolveOnly) {
    check(`require.resolve("${spec}")`, () =>
      underDist(spec, node(["-e", `console.log(require.resolve(${JSON.stringify(spec)}))`]), ".cjs")
    )
  }

  // A page the API loads on first use (the Swagger UI, an `import()` in the source) must
  // come from the same copy of @effect/platform as the rest: in CommonJS an `import()`
  // loaded its ESM copy, whose router registered nothing (GET /docs answered 500).
  console.log("adapter-http serves its documents (the OpenAPI document, the Swagger UI):")
  const serve = `const mounted = Mount.toWebHandler(Layer.mergeAll(Zhongbao.layerMemory(), Authentication.layerBearer.pipe(Layer.provideMerge(Authentication.layerSessionsMemory())), RateLimit.layer()))
const answers = []
for (const path of ["/openapi.json", "/docs"]) answers.push(path + " " + (await mounted.handler(new Request("http://x" + path))).status)
await mounted.dispose()
if (answers.some((a) => !a.endsWith(" 200"))) throw new Error(answers.join(", "))
console.log(answers.join(", "))`
  const bindings = "{ Authentication, Mount, RateLimit }"
  const coreBindings = "{ Zhongbao }"
  check("ESM: GET /openapi.json and GET /docs answer 200", () =>
    node([
      "--input-type=module",
      "-e",
      `import ${bindings} from "@zhongbao/adapter-http"
import ${coreBindings} from "@zhongbao/core"
import { Layer } from "effect"
${serve}`
    ])
  )
  check("CommonJS: GET /openapi.json and GET /docs answer 200", () =>
    node([
      "-e",
      `const ${bindings} = require("@zhongbao/adapter-http")
const ${coreBindings} = require("@zhongbao/core")
const { Layer } = require("effect")
;(async () => {
${serve}
})().catch((e) => { console.error(e); process.exit(1) })`
    ])
  )

  check(
    "@zhongbao/adapter-http/api: its Api and ApiError are the main entry's, in ESM and in CommonJS",
    () => {
      const same = "a.Api.Api === i.Api.Api && a.ApiError.Denied === i.ApiError.Denied"
      const esm = node([
        "--input-type=module",
        "-e",
        `const a = await import("@zhongbao/adapter-http/api"), i = await import("@zhongbao/adapter-http"); console.log(${same})`
      ])
      const cjs = node([
        "-e",
        `const a = require("@zhongbao/adapter-http/api"), i = require("@zhongbao/adapter-http"); console.log(${same})`
      ])
      if (esm !== "true" || cjs !== "true") throw new Error(`the same objects: ESM ${esm}, CommonJS ${cjs}`)
    }
  )
  // Each module is a subpath (`@zhongbao/core/Persistence`), which TypeScript names in a
  // consumer's declarations and an editor offers to import from: it loads, and holds the
  // main entry's objects (one copy of each tag and error class).
  // (a module the main entry does not hold, testing's Conformance, which imports vitest, is
  // resolved only)
  const moduleSubpaths = packages.flatMap((p) => modulesOf(p).map((m) => ({ name: p.name, ...m })))
  const sameAsMain = (load, resolve) => `const out = []
for (const { name, module, inMain } of ${JSON.stringify(moduleSubpaths)}) {
  if (!inMain) { ${resolve('name + "/" + module')}; continue }
  const sub = ${load('name + "/" + module')}, main = ${load("name")}
  const keys = Object.keys(sub).filter((k) => k !== "default" && k !== "__esModule")
  if (keys.length === 0) out.push(name + "/" + module + ": nothing exported")
  const ns = main[module]
  if (ns !== undefined)
    for (const k of keys) if (sub[k] !== ns[k]) out.push(name + "/" + module + "." + k + " is not " + name + "'s " + module + "." + k)
}
console.log(out.length === 0 ? "ok" : out.join("\\n"))`
  check(
    "every module is a subpath (@zhongbao/core/Persistence) that loads and holds the main entry's objects, in ESM and in CommonJS",
    () => {
      const esm = node([
        "--input-type=module",
        "-e",
        sameAsMain(
          (spec) => `await import(${spec})`,
          (spec) => `import.meta.resolve(${spec})`
        )
      ])
      const cjs = node([
        "-e",
        sameAsMain(
          (spec) => `require(${spec})`,
          (spec) => `require.resolve(${spec})`
        )
      ])
      if (esm !== "ok" || cjs !== "ok") throw new Error(`ESM: ${esm}\nCommonJS: ${cjs}`)
      return `${moduleSubpaths.length} subpaths`
    }
  )
  check(
    "@zhongbao/adapter-http/api: a typed client of it bundles for a browser (esbuild --platform=browser)",
    () => {
      fs.writeFileSync(
        path.join(project, "client.mjs"),
        `import { HttpApiClient } from "@effect/platform"
import { Api } from "@zhongbao/adapter-http/api"
export const client = HttpApiClient.make(Api.Api, { baseUrl: "/zhongbao" })
`
      )
      const out = path.join(tmp, "client.bundle.js")
      execFileSync(
        path.join(root, "node_modules", ".bin", "esbuild"),
        [
          "client.mjs",
          "--bundle",
          "--platform=browser",
          "--format=esm",
          "--log-level=error",
          `--outfile=${out}`
        ],
        { cwd: project, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }
      )
      return `${Math.round(fs.statSync(out).size / 1024)} KB unminified`
    }
  )

  console.log("Installed tree:")
  check("one copy of effect", () => {
    const copies = []
    const walk = (dir, depth) => {
      if (depth > 6 || !fs.existsSync(dir)) return
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        if (!entry.isDirectory()) continue
        const full = path.join(dir, entry.name)
        if (entry.name.startsWith("@")) walk(full, depth)
        else {
          if (entry.name === "effect") copies.push(path.relative(project, full))
          walk(path.join(full, "node_modules"), depth + 1)
        }
      }
    }
    walk(path.join(project, "node_modules"), 0)
    if (copies.length !== 1) throw new Error(`effect installed ${copies.length} times: ${copies.join(", ")}`)
    return `${copies[0]}@${JSON.parse(fs.readFileSync(path.join(project, copies[0], "package.json"), "utf8")).version}`
  })

  console.log("TypeScript (module node16, the installed declarations, skipLibCheck off, declaration on):")
  const imports = probes.map(([spec, binding, prop], i) => ({
    spec,
    binding,
    prop,
    alias: `${binding}_${i}`
  }))
  fs.writeFileSync(
    path.join(project, "esm.mts"),
    `${imports.map(({ spec, binding, alias }) => `import { ${binding} as ${alias} } from "${spec}"`).join("\n")}
import type { Conformance } from "@zhongbao/testing/conformance"
import { Demand, Errors, Zhongbao } from "@zhongbao/core"
export const probes = [${imports.map(({ alias, prop }) => `${alias}.${prop}`).join(", ")}] as const
export type Suite = typeof Conformance.suite
// a namespace member that is both a value and a type keeps both meanings
export type Failure = Errors.DomainError
export const formFields: typeof Demand.DemandForm.fields = Demand.DemandForm.fields
export type Form = Demand.DemandForm
// a library of a province's own re-exports values typed by ours (declaration: true): its
// declarations must name every type they use (TS4023, TS2742 otherwise)
export const failure = Errors.DomainError
export const form = Demand.DemandForm
export const memory = Zhongbao.layerMemory()
// and imports from a module's subpath, as an editor offers it
export { DemandRepository } from "@zhongbao/core/Persistence"
`
  )
  // Every value a package's namespaces hold at run time is a value in its declarations
  // too (a bundle's `export type { … }` once hid five of core's schemas).
  const members = JSON.parse(
    node([
      "--input-type=module",
      "-e",
      `const out = {}
for (const spec of ${JSON.stringify(imports.map(({ spec }) => spec))}) {
  const m = await import(spec)
  out[spec] = Object.fromEntries(Object.entries(m).filter(([, v]) => v !== null && typeof v === "object").map(([k, v]) => [k, Object.keys(v)]))
}
console.log(JSON.stringify(out))`
    ])
  )
  const valueLines = Object.entries(members).flatMap(([spec, namespaces], i) => [
    `import * as p${i} from "${spec}"`,
    ...Object.entries(namespaces).flatMap(([ns, keys]) =>
      keys.filter((key) => /^[A-Za-z_$][\w$]*$/.test(key)).map((key) => `void p${i}.${ns}.${key}`)
    )
  ])
  fs.writeFileSync(path.join(project, "values.mts"), `${valueLines.join("\n")}\nexport {}\n`)
  console.log(
    `  (values.mts: ${valueLines.filter((l) => l.startsWith("void")).length} namespace members as values)`
  )
  fs.writeFileSync(
    path.join(project, "cjs.cts"),
    `${imports.map(({ spec, alias }) => `import ${alias} = require("${spec}")`).join("\n")}
export const probes = [${imports.map(({ binding, prop, alias }) => `${alias}.${binding}.${prop}`).join(", ")}] as const
`
  )
  fs.writeFileSync(
    path.join(project, "tsconfig.json"),
    `${JSON.stringify(
      {
        compilerOptions: {
          module: "node16",
          moduleResolution: "node16",
          target: "ES2022",
          lib: ["ES2023"],
          types: ["node"],
          typeRoots: [path.join(root, "node_modules", "@types")],
          strict: true,
          declaration: true,
          emitDeclarationOnly: true,
          outDir: "out",
          skipLibCheck: false
        },
        files: ["esm.mts", "cjs.cts", "values.mts"]
      },
      null,
      2
    )}\n`
  )
  check(
    "tsc --declaration on esm.mts, cjs.cts and values.mts (which export values typed by ours): no error in @zhongbao declarations or the consumer",
    () => {
      // the workspace's TypeScript; the consumer's node_modules supply every declaration but @types/node
      const tsc = spawnSync(
        process.execPath,
        [path.join(root, "node_modules", "typescript", "bin", "tsc"), "-p", ".", "--pretty", "false"],
        { cwd: project, encoding: "utf8" }
      )
      // one diagnostic per "file(line,col): error" line, with its continuation lines
      const diagnostics = tsc.stdout.split(/\n(?=\S)/).filter((d) => /: error TS\d+/.test(d))
      const ours = diagnostics.filter(
        (d) => !d.startsWith("node_modules/") || d.startsWith("node_modules/@zhongbao/")
      )
      if (tsc.status !== 0 && diagnostics.length === 0) throw new Error(tsc.stdout + tsc.stderr)
      if (ours.length > 0) throw new Error(ours.join("\n"))
      const others = [
        ...new Set(
          diagnostics.map((d) =>
            d
              .split("/")
              .slice(1, d.startsWith("node_modules/@") ? 3 : 2)
              .join("/")
          )
        )
      ]
      return others.length > 0
        ? `${diagnostics.length} error(s) in third-party declarations (${others.join(", ")}), not ours`
        : undefined
    }
  )
} catch (e) {
  failures.push("setup")
  console.log(`✗ ${e.stack ?? e}`)
} finally {
  if (process.env.KEEP) console.log(`kept ${tmp}`)
  else fs.rmSync(tmp, { recursive: true, force: true })
}

console.log(
  failures.length === 0
    ? `test:pack: every package installs and loads from ESM and CommonJS (${seconds()})`
    : `test:pack: ${failures.length} check(s) failed: ${failures.join("; ")} (${seconds()})`
)
process.exit(failures.length === 0 ? 0 : 1)
