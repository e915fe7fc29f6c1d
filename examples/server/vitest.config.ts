import { defineProject } from "vitest/config"

export default defineProject({
  resolve: { conditions: ["@zhongbao/source"] },
  ssr: { resolve: { conditions: ["@zhongbao/source"] } },
  test: {
    name: "example-server",
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/globalSetup.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000
  }
})
