export * from "./FakeAnthropic.ts"
export * from "./FakeOllama.ts"
export * from "./LoopbackServer.ts"
