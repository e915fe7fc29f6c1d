/**
 * @since 0.1.0
 */
export * as Fixtures from "./Fixtures.js"
