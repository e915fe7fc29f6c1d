import { availableParallelism } from "node:os"
import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    projects: ["packages/*", "examples/*"],
    // vitest's default of one worker fewer than the cores leaves one worker on two
    // cores, running every file in turn; the files spend much of their time waiting on
    // PostgreSQL, PGlite and spawned servers, so two at least (npm test: 650 → 370 s there).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // `npm run coverage`: the packages' sources as the tests in this process reach them
    // (the example server's tests run it as a child process, which this does not see).
    coverage: {
      provider: "v8",
      include: ["packages/*/src/**"],
      reporter: ["text-summary", "text", "html"],
      reportsDirectory: "coverage"
    }
  }
})
