/**
 * `@zhongbao/adapter-http/api`: the API's definition alone, for a typed client in a
 * browser (`HttpApiClient.make(Api.Api, { baseUrl })`): no server, no Node built-ins,
 * so a front end's bundler (Vite, esbuild, webpack) takes it as it is. The main entry
 * exports the same `Api` and `ApiError` with the server beside them.
 *
 * @since 0.1.0
 */
export * as Api from "../Api.js"
export * as ApiError from "../ApiError.js"
