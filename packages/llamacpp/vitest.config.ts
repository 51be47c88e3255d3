import { defineProject } from "vitest/config"

export default defineProject({
  test: { name: "llamacpp", isolate: false, include: ["test/**/*.test.ts"] }
})
