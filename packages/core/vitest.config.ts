import { defineProject } from "vitest/config"

export default defineProject({
  test: { name: "core", isolate: false, include: ["test/**/*.test.ts"] }
})
