import { defineProject } from "vitest/config"

export default defineProject({
  resolve: { conditions: ["@zhongbao/source"] },
  ssr: { resolve: { conditions: ["@zhongbao/source"] } },
  test: {
    name: "adapter-sms",
    include: ["test/**/*.test.ts"],
    // The transport's timeout tests wait out their providers' timeouts (a queued request
    // behind a hanging one: two of 2 s, 4.0–4.2 s in all), a second from vitest's default
    // 5 s on a loaded machine. A test that hangs still fails, at 20 s.
    testTimeout: 20_000
  }
})
