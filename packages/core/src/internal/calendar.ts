/**
 * @internal Midnight UTC of a year, month (1–12) and day; `Date.UTC` would read the
 * years 0–99 as 1900–1999.
 */
export const utcDate = (y: number, m: number, d: number): Date => {
  const date = new Date(0)
  date.setUTCFullYear(y, m - 1, d)
  return date
}
