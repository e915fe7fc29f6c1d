/**
 * Test fixtures that work on any adapter's ports. The conformance suite, which
 * registers vitest tests, is the separate entry point `@zhongbao/testing/conformance`
 * so that importing the fixtures outside vitest works.
 *
 * @since 0.1.0
 */
export * as Expect from "./Expect.js"
export * as Fixtures from "./Fixtures.js"
