/**
 * @since 0.1.0
 */
export * as Api from "./Api.js"
export * as ApiError from "./ApiError.js"
export * as Authentication from "./Authentication.js"
export * as Http from "./Http.js"
export * as Messages from "./Messages.js"
export * as Mount from "./Mount.js"
export * as RateLimit from "./RateLimit.js"
