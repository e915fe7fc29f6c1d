/**
 * @internal The `Authentication` middleware and the `CurrentAccount` it provides, in a
 * module of their own without Node's `crypto` (the session layers of
 * `Authentication.ts` use it): the API's definition refers to them, and the
 * definition is what a browser bundles for a typed client (`@zhongbao/adapter-http/api`).
 * `Authentication.ts` re-exports both.
 */
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import * as OpenApi from "@effect/platform/OpenApi"
import type { Ids } from "@zhongbao/core"
import * as Context from "effect/Context"
import { Unauthorized } from "../ApiError.js"

type AccountId = Ids.AccountId

/**
 * The account acting for the current request; `null` when the caller is anonymous.
 *
 * @since 0.1.0
 * @category tags
 */
export class CurrentAccount extends Context.Tag("@zhongbao/adapter-http/CurrentAccount")<
  CurrentAccount,
  AccountId | null
>() {}

/**
 * The middleware that resolves the acting account of every request.
 *
 * @since 0.1.0
 * @category middleware
 */
export class Authentication extends HttpApiMiddleware.Tag<Authentication>()(
  "@zhongbao/adapter-http/Authentication",
  {
    failure: Unauthorized,
    provides: CurrentAccount,
    security: {
      bearer: HttpApiSecurity.bearer.pipe(
        HttpApiSecurity.annotate(
          OpenApi.Description,
          "The default: a session token issued by the host portal. A portal may plug its own " +
            "resolver instead (session cookie, JWT, gateway header). Public endpoints also " +
            "answer without a credential."
        )
      )
    }
  }
) {}
