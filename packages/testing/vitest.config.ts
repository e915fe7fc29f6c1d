import { defineProject } from "vitest/config"

export default defineProject({
  resolve: { conditions: ["@zhongbao/source"] },
  ssr: { resolve: { conditions: ["@zhongbao/source"] } },
  test: {
    name: "testing",
    include: ["test/**/*.test.ts"],
    // The conformance suite's races (hundreds of concurrent commands) take seconds on
    // a loaded machine; vitest's default 5 s would fail a test that is only slow there.
    // A test that hangs still fails, at 20 s.
    testTimeout: 20_000
  }
})
