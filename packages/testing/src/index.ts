export * from "./LoopbackServer.ts"
