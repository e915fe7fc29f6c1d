/**
 * `@zhongbao/adapter-http/api`: the definition a portal's front end derives a typed
 * client from, bundled for a browser as a front end's bundler would.
 */
import { assert, describe, it } from "@effect/vitest"
import { build } from "esbuild"
import { fileURLToPath } from "node:url"
import * as Entry from "../src/entry/api.js"
import { Api, ApiError } from "../src/index.js"

const root = fileURLToPath(new URL("..", import.meta.url))

describe("@zhongbao/adapter-http/api", () => {
  it("the API's definition and errors, the same the main entry exports", () => {
    assert.strictEqual(Entry.Api.Api, Api.Api)
    assert.strictEqual(Entry.ApiError.Denied, ApiError.Denied)
  })

  it("a typed client of it bundles for a browser: no Node built-in on its path", async () => {
    const result = await build({
      stdin: {
        contents: [
          'import { HttpApiClient } from "@effect/platform"',
          'import { Api } from "@zhongbao/adapter-http/api"',
          'export const client = HttpApiClient.make(Api.Api, { baseUrl: "/zhongbao" })'
        ].join("\n"),
        resolveDir: root,
        loader: "ts"
      },
      bundle: true,
      platform: "browser",
      format: "esm",
      conditions: ["@zhongbao/source"],
      write: false,
      logLevel: "silent"
    }).catch((e: { readonly errors?: ReadonlyArray<{ readonly text: string }> }) => ({
      errors: e.errors ?? [],
      outputFiles: []
    }))
    assert.deepStrictEqual(
      result.errors.map((e) => e.text),
      [],
      "esbuild resolves every import for a browser"
    )
    const code = result.outputFiles[0]?.text ?? ""
    assert.include(code, "/hall", "the API's paths are in the bundle")
    assert.notMatch(code, /require\(\s*["'](?:node:)?(?:crypto|http|stream|fs)["']\s*\)/)
  }, 60_000)
})
