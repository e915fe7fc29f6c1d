/**
 * The conformance suite every persistence adapter runs:
 * `import { Conformance } from "@zhongbao/testing/conformance"`.
 *
 * @since 0.1.0
 */
export * as Conformance from "../Conformance.js"
