import { defineProject } from "vitest/config"

export default defineProject({
  resolve: { conditions: ["@zhongbao/source"] },
  ssr: { resolve: { conditions: ["@zhongbao/source"] } },
  test: {
    name: "core",
    include: ["test/**/*.test.ts"],
    // The dispatcher's tests (10,000 messages through the outbox) and the model's random
    // sequences take 2.5–10 s of their own; vitest's default 5 s would fail a test that
    // is only slow on a loaded machine (CI runs two test files beside PostgreSQL on two
    // cores). A test that hangs still fails, at 20 s.
    testTimeout: 20_000
  }
})
