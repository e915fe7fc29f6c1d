// Typechecks the TypeScript blocks (```ts) of the READMEs against the packages' sources,
// so that an example drifting from the API it shows fails `npm run typecheck`.
//
// Each block becomes a module of its own under node_modules/.cache (where `@zhongbao/*`
// and the other dependencies resolve as they do for a user), compiled with the
// repository's strict options except the unused-names checks (an example may declare
// what it only shows). A block that imports "../src/index.js" means the reader's own
// adapter: that path resolves to a declared stand-in (a `Layer` of core's ports under
// every name a README imports from it). tsc's errors are reported at the README's line.
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join, relative } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const out = join(root, "node_modules", ".cache", "zhongbao-snippets")

const readmes = [
  "README.md",
  ...["packages", "examples"].flatMap((dir) =>
    readdirSync(join(root, dir), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => join(dir, entry.name, "README.md"))
  )
].filter((path) => existsSync(join(root, path)))

/** Every ```ts block of `path`: its text and the README line its first line is on. */
const blocksOf = (path) => {
  const lines = readFileSync(join(root, path), "utf8").split("\n")
  const blocks = []
  for (let i = 0; i < lines.length; i++) {
    if (!/^```ts\s*$/.test(lines[i])) continue
    const start = i + 1
    let end = start
    while (end < lines.length && !/^```\s*$/.test(lines[end])) end++
    blocks.push({ text: lines.slice(start, end).join("\n"), line: start + 1 })
    i = end
  }
  return blocks
}

rmSync(out, { recursive: true, force: true })
mkdirSync(join(out, "src"), { recursive: true })
mkdirSync(join(out, "blocks"), { recursive: true })
writeFileSync(
  join(out, "src", "index.ts"),
  [
    "// The reader's own persistence adapter, as the READMEs import it.",
    'import type { Persistence } from "@zhongbao/core"',
    'import type { Layer } from "effect"',
    "export declare const layer: Layer.Layer<Persistence.Ports>",
    "export declare const SqlitePersistence: { readonly layer: Layer.Layer<Persistence.Ports> }",
    ""
  ].join("\n")
)

const origins = new Map()
let count = 0
for (const readme of readmes) {
  for (const [n, block] of blocksOf(readme).entries()) {
    const name = `${readme.replace(/[\\/]/g, "_").replace(/\.md$/, "")}_${n + 1}.ts`
    // `export {}` makes a block without imports a module too, so blocks never share names.
    writeFileSync(join(out, "blocks", name), `${block.text}\nexport {}\n`)
    origins.set(name, { readme, line: block.line })
    count++
  }
}

writeFileSync(
  join(out, "tsconfig.json"),
  JSON.stringify({
    extends: relative(out, join(root, "tsconfig.base.json")),
    compilerOptions: {
      noEmit: true,
      declaration: false,
      sourceMap: false,
      noUnusedLocals: false,
      noUnusedParameters: false,
      types: ["node"],
      typeRoots: [join(root, "node_modules", "@types")]
    },
    include: ["blocks", "src"]
  })
)

const tsc = spawnSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", out], {
  cwd: out,
  encoding: "utf8"
})
const report = `${tsc.stdout}${tsc.stderr}`.replace(
  /(?:^|\n)blocks\/([^(\s]+)\((\d+),(\d+)\)/g,
  (whole, name, line, column) => {
    const origin = origins.get(name)
    if (origin === undefined) return whole
    return `\n${origin.readme}:${origin.line + Number(line) - 1}:${column}`
  }
)
if (tsc.status !== 0) {
  process.stderr.write(`${report.trim()}\n`)
  process.stderr.write(`check-snippets: the READMEs' TypeScript blocks do not typecheck (${count} blocks)\n`)
  process.exit(1)
}
console.log(`check-snippets: ${count} TypeScript blocks of ${readmes.length} READMEs typecheck`)
