// The published packages of the workspace, their build and their tarballs: shared by
// scripts/check-packages.mjs (publint, attw, package.json rules) and
// scripts/pack-test.mjs (install the tarballs outside the workspace).
import { execFileSync } from "node:child_process"
import fs from "node:fs"
import path from "node:path"
import { fileURLToPath } from "node:url"

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

/** Every package under packages/ that is not private, in dependency order. */
export const publishedPackages = () => {
  const dirs = fs
    .readdirSync(path.join(root, "packages"), { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(root, "packages", d.name, "package.json")))
    .map((d) => path.join(root, "packages", d.name))
  const all = dirs
    .map((dir) => ({ dir, pkg: JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) }))
    .filter(({ pkg }) => pkg.private !== true)
  const names = new Set(all.map(({ pkg }) => pkg.name))
  const internal = (pkg) => Object.keys(pkg.dependencies ?? {}).filter((n) => names.has(n))
  const sorted = []
  const visit = (entry, seen = new Set()) => {
    if (sorted.includes(entry) || seen.has(entry.pkg.name)) return
    seen.add(entry.pkg.name)
    for (const dep of internal(entry.pkg))
      visit(
        all.find((e) => e.pkg.name === dep),
        seen
      )
    sorted.push(entry)
  }
  for (const entry of all.sort((a, b) => a.pkg.name.localeCompare(b.pkg.name))) visit(entry)
  return sorted.map(({ dir, pkg }) => ({ name: pkg.name, version: pkg.version, dir, pkg }))
}

/**
 * The modules of a package's `src/` (each a subpath of the package, `@zhongbao/core/Persistence`),
 * and whether the main entry holds each as a namespace (`export * as Persistence from …`).
 */
export const modulesOf = (p) => {
  const index = fs.readFileSync(path.join(p.dir, "src", "index.ts"), "utf8")
  return fs
    .readdirSync(path.join(p.dir, "src"))
    .filter((name) => name.endsWith(".ts") && name !== "index.ts")
    .map((name) => name.slice(0, -3))
    .map((module) => ({ module, inMain: index.includes(`export * as ${module} from`) }))
}

/** The files a package.json points consumers at (exports without the source condition, main, module, types). */
export const publishedTargets = (pkg) => {
  const out = new Set()
  const walk = (value, key) => {
    if (key === "@zhongbao/source") return
    if (typeof value === "string") out.add(value)
    else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) walk(v, k)
  }
  walk(pkg.exports)
  for (const field of ["main", "module", "types"]) if (pkg[field]) out.add(pkg[field])
  return [...out].filter((file) => !file.endsWith("package.json"))
}

const newestMtime = (p) => {
  if (!fs.existsSync(p)) return 0
  const stat = fs.statSync(p)
  if (!stat.isDirectory()) return stat.mtimeMs
  let newest = stat.mtimeMs
  for (const entry of fs.readdirSync(p)) newest = Math.max(newest, newestMtime(path.join(p, entry)))
  return newest
}

/**
 * Builds (their `build`: tsup, then scripts/declarations.mjs) the packages whose dist is
 * missing or older than their sources; returns the names it built.
 */
export const ensureBuilt = (packages, log = console.log) => {
  const built = []
  for (const p of packages) {
    const targets = publishedTargets(p.pkg).map((file) => path.join(p.dir, file))
    const missing = targets.find((file) => !fs.existsSync(file))
    const oldest = missing ? 0 : Math.min(...targets.map((file) => fs.statSync(file).mtimeMs))
    const inputs = Math.max(
      ...["src", "tsup.config.ts", "tsconfig.build.json"].map((f) => newestMtime(path.join(p.dir, f)))
    )
    if (missing || inputs > oldest) {
      log(
        `building ${p.name} (${missing ? `missing ${path.relative(p.dir, missing)}` : "sources newer than dist"})`
      )
      execFileSync("npm", ["run", "build", "--silent"], {
        cwd: p.dir,
        stdio: ["ignore", "ignore", "inherit"]
      })
      built.push(p.name)
    }
  }
  return built
}

/** `npm pack` of each package into dest; returns the tarball path per package name. */
export const pack = (packages, dest) => {
  fs.mkdirSync(dest, { recursive: true })
  const tarballs = new Map()
  for (const p of packages) {
    const out = execFileSync("npm", ["pack", "--json", "--pack-destination", dest], {
      cwd: p.dir,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"]
    })
    const [info] = JSON.parse(out)
    tarballs.set(p.name, { file: path.join(dest, info.filename), files: info.files.map((f) => f.path), info })
  }
  return tarballs
}

/** The environment of a child npm without what `npm run` puts there about this workspace. */
export const cleanNpmEnv = (extra = {}) => {
  const keep =
    /^npm_config_(registry|cache|userconfig|globalconfig|cafile|proxy|https_proxy|noproxy|strict_ssl)$/i
  const env = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) && !keep.test(k)) continue
    if (k === "INIT_CWD") continue
    env[k] = v
  }
  return { ...env, ...extra }
}
