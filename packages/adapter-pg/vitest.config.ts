import { defineProject } from "vitest/config"

export default defineProject({
  resolve: { conditions: ["@zhongbao/source"] },
  ssr: { resolve: { conditions: ["@zhongbao/source"] } },
  test: { name: "adapter-pg", include: ["test/**/*.test.ts"] }
})
