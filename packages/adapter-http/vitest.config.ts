import { defineProject } from "vitest/config"

export default defineProject({
  resolve: { conditions: ["@zhongbao/source"] },
  ssr: { resolve: { conditions: ["@zhongbao/source"] } },
  test: {
    name: "adapter-http",
    include: ["test/**/*.test.ts"],
    // Its tests serve the API over real sockets (the docs UI's module loaded on a first
    // request, bodies of megabytes streamed): the Node listener's test, 1.6–2.5 s in
    // three CI runs, passed vitest's default 5 s in a fourth, with two test files and
    // PostgreSQL sharing two cores. A test that hangs still fails, at 20 s.
    testTimeout: 20_000
  }
})
