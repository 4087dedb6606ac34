/**
 * What the processor can store, kept here so the client never sends what it would refuse
 * (src/contract/storable.py holds the same rules on the Python side):
 * - text is well-formed UTF-16: a lone surrogate (a cut emoji, or `"\ud800"` from a visitor's JSON) becomes
 *   U+FFFD, and cuts never fall inside a surrogate pair;
 * - numbers are finite and within DynamoDB's range: zero, or a magnitude from 1e-130 up to 1e126.
 *   (DynamoDB's 38 digits need no check: JavaScript writes every number with at most 17 significant digits.)
 */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** `text` with every lone surrogate replaced by U+FFFD; a valid pair is one character and stays. */
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD');
}

/** Cut to at most `max` UTF-16 code units without splitting a surrogate pair. */
export function capLength(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = Math.max(0, max);
  const code = text.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
  return text.slice(0, cut);
}

export const SMALLEST_MAGNITUDE = 1e-130;
export const LARGEST_MAGNITUDE = 1e126;

/** A number DynamoDB can store (and JSON can carry: NaN and Infinity become `null` in JSON.stringify). */
export function storableNumber(value: unknown): value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  const magnitude = Math.abs(value);
  return value === 0 || (magnitude >= SMALLEST_MAGNITUDE && magnitude < LARGEST_MAGNITUDE);
}
