/**
 * @since 0.1.0
 */
export * as AliyunSms from "./AliyunSms.js"
export * as Classify from "./Classify.js"
export * as ConsoleSms from "./ConsoleSms.js"
export * as Phone from "./Phone.js"
export * as TencentSms from "./TencentSms.js"
export * as Throttle from "./Throttle.js"
export * as Transport from "./Transport.js"
