import { assert, describe, it } from "@effect/vitest"
import { Phone } from "@zhongbao/adapter-sms"
import { Either, FastCheck } from "effect"
import { parsePhoneNumberFromString } from "libphonenumber-js/max"

describe("Phone", () => {
  it("R64: mainland numbers normalise to E.164 with or without +86 and separators", () => {
    for (const input of [
      "13812345678",
      "+8613812345678",
      "+86 138-1234-5678",
      " 138 1234 5678 ",
      "008613812345678"
    ]) {
      assert.deepStrictEqual(Phone.normalize(input), Either.right("+8613812345678"), input)
    }
  })

  it("R64: other countries keep their code", () => {
    assert.deepStrictEqual(Phone.normalize("+852 5123 4567"), Either.right("+85251234567"))
    assert.deepStrictEqual(Phone.normalize("+1 415 555 2671"), Either.right("+14155552671"))
  })

  it("R64: invalid, fixed-line and toll-free numbers are refused without echoing the number", () => {
    for (const input of ["12345", "1381234567", "+86 10 6552 9988", "400 810 8888", "not a number", ""]) {
      const result = Phone.normalize(input)
      assert.isTrue(Either.isLeft(result), input)
      if (Either.isLeft(result) && input.length > 0) assert.notInclude(result.left, input)
    }
  })

  it("R64: a number is read with its own default country, whatever was read before with another", () => {
    const national = "138 1234 5670"
    assert.isTrue(Either.isLeft(Phone.normalize(national, "US")))
    assert.deepStrictEqual(Phone.normalize(national, "CN"), Either.right("+8613812345670"))
    assert.isTrue(Either.isLeft(Phone.normalize(national, "US")))
  })

  it("R64: why a number is refused, in Chinese by default and in English when asked", () => {
    assert.deepStrictEqual(Phone.normalize("12345"), Either.left("不是有效的电话号码"))
    assert.deepStrictEqual(Phone.normalize("12345", "CN", "en"), Either.left("not a valid phone number"))
    assert.deepStrictEqual(Phone.normalize("+86 10 6552 9988"), Either.left("不是手机号码（固定电话）"))
    assert.deepStrictEqual(
      Phone.normalize("+86 10 6552 9988", "CN", "en"),
      Either.left("not a mobile number (fixed_line)")
    )
    assert.deepStrictEqual(Phone.normalize("400 810 8888"), Either.left("不是手机号码（分摊付费电话）"))
    assert.deepStrictEqual(Phone.normalize("138 1234 5678", "CN", "en"), Either.right("+8613812345678"))
  })

  it("R64: a number is accepted exactly when libphonenumber-js finds it valid and of a mobile type (or of none)", () => {
    const mobileTypes = ["MOBILE", "FIXED_LINE_OR_MOBILE", undefined]
    FastCheck.assert(
      FastCheck.property(
        FastCheck.constantFrom("", "+86", "0086", "+852", "+853", "+886", "+1", "+44", "+81", "+979"),
        FastCheck.oneof(
          FastCheck.stringMatching(/^1[3-9][0-9]{9}$/),
          FastCheck.stringMatching(/^[0-9]{4,13}$/)
        ),
        (prefix, digits) => {
          const input = prefix + digits
          const parsed = parsePhoneNumberFromString(input, "CN")
          const result = Phone.normalize(input)
          if (parsed === undefined) return Either.isLeft(result)
          const mobile = parsed.isValid() && mobileTypes.includes(parsed.getType())
          return mobile ? Either.isRight(result) && result.right === parsed.number : Either.isLeft(result)
        }
      ),
      { numRuns: 3000 }
    )
  })

  it("R64: Aliyun takes national digits for mainland numbers and the country code otherwise", () => {
    assert.strictEqual(Phone.toAliyun("+8613812345678"), "13812345678")
    assert.strictEqual(Phone.toAliyun("+85251234567"), "85251234567")
  })
})
