import { defineProject } from "vitest/config"

export default defineProject({
  resolve: { conditions: ["@zhongbao/source"] },
  ssr: { resolve: { conditions: ["@zhongbao/source"] } },
  test: { name: "example-embed", include: ["test/**/*.test.ts"] }
})
