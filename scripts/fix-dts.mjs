// Repairs the declaration bundles tsup writes (dist/*.d.ts, dist/*.d.cts) of every published
// package; `npm run build` runs it after the packages' builds, idempotently.
//
// Why: tsup 8.5 bundles declarations with an inlined rollup-plugin-dts 6.1.1 whose
// namespace fixer keeps one kind per name. Every module here is re-exported as a
// namespace (`export * as Errors from "./Errors.js"`), and Effect code declares a value and
// a type under one name (`const DomainError = Schema.Union(...)` + `type DomainError = ...`).
// For such a name the bundle keeps only whichever declaration came last:
//   declare const Errors_DomainError: typeof DomainError      (the type is lost), or
//   type Demand$1_DemandForm = DemandForm; export { type Demand$1_DemandForm as DemandForm }
//                                                             (the value is lost)
// so a consumer's `Errors.DomainError` in a type, or `Demand.DemandForm.fields`, fails to
// compile (and is silently `any` under skipLibCheck). It also writes a whole clause as
// type-only, `export type { Audit_AuditEvent as AuditEvent }`, hiding the values it names.
// This adds the missing alias and drops a `type` modifier that hides a value (moving a
// clause's to the names that have no value). `node scripts/fix-dts.mjs --check` fails instead of
// writing when a bundle needs repair.
import fs from "node:fs"
import path from "node:path"
import ts from "typescript"
import { publishedPackages } from "./packages.mjs"

const valueKinds = new Set([
  ts.SyntaxKind.VariableStatement,
  ts.SyntaxKind.FunctionDeclaration,
  ts.SyntaxKind.ClassDeclaration,
  ts.SyntaxKind.EnumDeclaration
])
const typeKinds = new Set([
  ts.SyntaxKind.InterfaceDeclaration,
  ts.SyntaxKind.TypeAliasDeclaration,
  ts.SyntaxKind.ClassDeclaration,
  ts.SyntaxKind.EnumDeclaration
])

/** Returns the repaired text and what was repaired, for one declaration file. */
export const fixDeclarations = (text, fileName = "index.d.ts") => {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true)
  // name → meanings of the top-level declarations under that name
  const locals = new Map()
  const meaning = (name) => {
    if (!locals.has(name)) locals.set(name, { value: false, type: false, generics: undefined })
    return locals.get(name)
  }
  for (const stmt of source.statements) {
    if (ts.isVariableStatement(stmt)) {
      for (const decl of stmt.declarationList.declarations) {
        if (ts.isIdentifier(decl.name)) meaning(decl.name.text).value = true
      }
      continue
    }
    if (!stmt.name || !ts.isIdentifier(stmt.name)) continue
    const m = meaning(stmt.name.text)
    if (valueKinds.has(stmt.kind)) m.value = true
    if (typeKinds.has(stmt.kind)) {
      m.type = true
      if (stmt.typeParameters?.length) m.generics = stmt.typeParameters
    }
  }

  const edits = [] // { start, end, text }
  const repairs = []
  for (const stmt of source.statements) {
    if (!ts.isModuleDeclaration(stmt) || !stmt.body || !ts.isModuleBlock(stmt.body)) continue
    const ns = stmt.name.text
    const inserts = []
    // the plugin's alias for a same-named export is `${ns}_${exported}`; else the local itself
    const underlyingOf = (spec) => {
      const local = (spec.propertyName ?? spec.name).text
      return local === `${ns}_${spec.name.text}` ? spec.name.text : local
    }
    for (const inner of stmt.body.statements) {
      if (!ts.isExportDeclaration(inner) || !inner.exportClause || !ts.isNamedExports(inner.exportClause))
        continue
      // `export type { … }` hides the values it names: the modifier goes to each name
      // that has no value, and off the clause
      const clauseTypeOnly =
        inner.isTypeOnly && inner.exportClause.elements.some((spec) => locals.get(underlyingOf(spec))?.value)
      if (clauseTypeOnly) {
        const start = inner.getStart(source)
        const keyword = text.indexOf("type", start)
        edits.push({ start: keyword, end: keyword + "type ".length, text: "" })
      }
      for (const spec of inner.exportClause.elements) {
        const local = (spec.propertyName ?? spec.name).text
        const exported = spec.name.text
        const underlying = underlyingOf(spec)
        const target = locals.get(underlying)
        if (clauseTypeOnly) {
          if (target?.value) repairs.push(`${ns}.${exported}: value (type-only export clause)`)
          else edits.push({ start: spec.getStart(source), end: spec.getStart(source), text: "type " })
        }
        if (!target) continue
        if (local !== underlying) {
          // an alias declared by the plugin: add the meaning it forgot
          const has = locals.get(local) ?? { value: false, type: false }
          if (target.type && !has.type) {
            const params = target.generics ?? []
            const inParams = params.length ? `<${params.map((p) => p.getText(source)).join(", ")}>` : ""
            const outParams = params.length ? `<${params.map((p) => p.name.text).join(", ")}>` : ""
            inserts.push(`type ${local}${inParams} = ${underlying}${outParams};\n`)
            repairs.push(`${ns}.${exported}: type`)
          }
          if (target.value && !has.value) {
            inserts.push(`declare const ${local}: typeof ${underlying};\n`)
            repairs.push(`${ns}.${exported}: value`)
          }
        }
        if (spec.isTypeOnly && target.value) {
          // `type X as Y` would hide the value: drop the modifier
          const start = spec.getStart(source)
          edits.push({ start, end: start + "type ".length, text: "" })
          if (!repairs.includes(`${ns}.${exported}: value`))
            repairs.push(`${ns}.${exported}: value (type-only export)`)
        }
      }
    }
    if (inserts.length > 0) {
      const start = stmt.getStart(source)
      edits.push({ start, end: start, text: inserts.join("") })
    }
  }
  let out = text
  for (const e of edits.sort((a, b) => b.start - a.start))
    out = out.slice(0, e.start) + e.text + out.slice(e.end)
  return { text: out, repairs }
}

export const fixPackage = (dir, { check = false } = {}) => {
  const dist = path.join(dir, "dist")
  const report = []
  if (!fs.existsSync(dist)) return report
  for (const file of fs.readdirSync(dist)) {
    if (!/\.d\.c?ts$/.test(file)) continue
    const full = path.join(dist, file)
    const before = fs.readFileSync(full, "utf8")
    const { text, repairs } = fixDeclarations(before, file)
    if (repairs.length === 0) continue
    report.push({ file: path.relative(process.cwd(), full), repairs })
    if (!check) fs.writeFileSync(full, text)
  }
  return report
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // node scripts/fix-dts.mjs [--check] [package folder…]; no folder: every published package
  const check = process.argv.includes("--check")
  const dirs = process.argv.slice(2).filter((a) => !a.startsWith("--"))
  const targets = dirs.length > 0 ? dirs.map((dir) => ({ dir: path.resolve(dir) })) : publishedPackages()
  let total = 0
  for (const p of targets) {
    for (const { file, repairs } of fixPackage(p.dir, { check })) {
      total += repairs.length
      // on stderr: under `npm pack --json` (prepack) stdout is the JSON
      console.error(
        `${check ? "needs repair" : "repaired"} ${file}: ${repairs.length} (${repairs.slice(0, 4).join(", ")}${repairs.length > 4 ? ", …" : ""})`
      )
    }
  }
  if (check && total > 0) process.exit(1)
  if (!check && dirs.length === 0) console.log(`fix-dts: ${total} namespace member(s) repaired`)
}
