import { defineProject } from "vitest/config"

export default defineProject({
  resolve: { conditions: ["@zhongbao/source"] },
  ssr: { resolve: { conditions: ["@zhongbao/source"] } },
  test: {
    name: "adapter-pg",
    include: ["test/**/*.test.ts"],
    // Conformance races, EXPLAINs over seeded tables and PGlite's folders take 2–5 s on
    // this project's 2-core CI machine (two test files and PostgreSQL at once); vitest's
    // default 5 s would fail a test that is only slow there. A test that hangs still
    // fails, at 20 s.
    testTimeout: 20_000
  }
})
