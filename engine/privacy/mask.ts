import { createHash } from 'node:crypto';

/**
 * Desensitisation of personal data (reporter names, phone numbers, ID numbers) before anything leaves the
 * restricted raw layer: cleaned tables, marts, the map, webhooks, dead letters and logs all carry these
 * masked forms. Masking keeps just enough to tell records apart by eye, never enough to identify:
 *
 * - name: first character, then one `*` per remaining character (`张三丰` -> `张**`, `Li Wei` -> `L*****`);
 * - phone: first 3 and last 2 digits of 11+ digit numbers, the rest `*` (`13812345678` -> `138******78`);
 *   shorter numbers keep only their last 2 digits;
 * - ID number (18-character resident ID): first 6 (region) and last 1 (`440304199001011234` ->
 *   `440304***********4`); other lengths keep only the last character.
 *
 * Written here rather than taken from a library: the rules are the city's own (which digits may show), and
 * they must be the same in the engine, the dispatcher and the tests.
 */

/** Masks a person's name. Empty or missing input gives an empty string. */
export function maskName(name: string | undefined | null): string {
  if (!name) return '';
  const chars = [...name.trim()];
  if (chars.length === 0) return '';
  return chars[0] + '*'.repeat(chars.length - 1);
}

/** Masks a phone number, keeping at most the first 3 and last 2 digits. */
export function maskPhone(phone: string | undefined | null): string {
  if (!phone) return '';
  let digits = phone.replace(/\D/g, '');
  // +86 country code in front of a mainland mobile number
  if (digits.length === 13 && digits.startsWith('861')) digits = digits.slice(2);
  if (digits.length === 0) return '*'.repeat(Math.min(phone.length, 8));
  if (digits.length >= 11) return digits.slice(0, 3) + '*'.repeat(digits.length - 5) + digits.slice(-2);
  return '*'.repeat(Math.max(digits.length - 2, 1)) + digits.slice(-2);
}

/** Masks an identity document number, keeping at most the region prefix and the check character. */
export function maskIdNumber(id: string | undefined | null): string {
  if (!id) return '';
  const chars = [...id.trim()];
  if (chars.length === 18) return chars.slice(0, 6).join('') + '*'.repeat(11) + chars[17];
  return '*'.repeat(Math.max(chars.length - 1, 1)) + (chars.length > 1 ? chars[chars.length - 1] : '');
}

/**
 * A run of digits as people write numbers: optionally a leading `+` or `(`, then digits with at most three
 * separators (spaces, `-`, `.`, `/`, parentheses) between any two of them, and an ID number's final `X`.
 * Matched on NFKC-normalised text, so full-width digits and separators count as their ASCII forms.
 */
const NUMBER_RUN = /[+(]?\d(?:[\s\-./()]{0,3}\d)*(?:[\s\-./]{0,3}[Xx](?![A-Za-z]))?/g;
/** A date as written in a report (2026-11-27, 2026/11/27, 2026.11.27), at the start of a run: not a phone. */
const DATE = /^(?:19|20)\d\d[-./](?:0?[1-9]|1[0-2])[-./](?:0?[1-9]|[12]\d|3[01])(?!\d)/;
/** Shortest digit count masked: local landlines have 7 digits; phones, IDs and all else are longer. */
const MIN_MASKED_DIGITS = 7;

/** Masks one number run: an ID number keeps region and check character, anything else 3 + 2 digits. */
function maskNumberRun(run: string): string {
  const date = DATE.exec(run)?.[0];
  if (date) return date + run.slice(date.length).replace(NUMBER_RUN, maskNumberRun);
  const chars = run.replace(/[^\dXx]/g, '').toUpperCase();
  const digits = chars.replace(/X/g, '');
  if (digits.length < MIN_MASKED_DIGITS) return run;
  if (chars.length === 18 || (chars.length === 15 && !chars.includes('X'))) return maskIdNumber(chars);
  return maskPhone(digits);
}

/**
 * Masks personal data in free text (descriptions, dead-letter details and keys): every number of 7 or more
 * digits however it is written (`138.1234.5678`, `138 1234  5678`, full-width digits, `440304 19900101 1234`,
 * `(0755) 8888 6666`), and the record's own reporter wherever the name, phone or ID appears. The text is
 * NFKC-normalised first (its full-width forms come out as ASCII). Over-masking is the side chosen: a
 * long number that was not a phone (a count, an order number) loses its middle digits too; dates stay.
 */
export function maskFreeText(text: string | undefined | null, reporter?: Reporter | null): string {
  if (!text) return '';
  let out = text.normalize('NFKC');
  const name = reporter?.name?.normalize('NFKC').trim();
  if (name && [...name].length >= 2) out = out.split(name).join(maskName(name));
  return out.replace(NUMBER_RUN, maskNumberRun);
}
/** A reporter as the contract carries it. */
export interface Reporter {
  name?: string | undefined;
  phone?: string | undefined;
  id_number?: string | undefined;
}

/** The masked reporter, or null when there is none. */
export function maskReporter(
  reporter: Reporter | undefined | null,
): { name: string | null; phone: string | null; id_number: string | null } | null {
  if (!reporter) return null;
  return {
    name: reporter.name ? maskName(reporter.name) : null,
    phone: reporter.phone ? maskPhone(reporter.phone) : null,
    id_number: reporter.id_number ? maskIdNumber(reporter.id_number) : null,
  };
}

/**
 * What a raw message payload may show outside the restricted layer (the dead letters), at most `limit`
 * characters: a JSON payload with its `reporter` fields masked and every string passed through
 * `maskFreeText` (with the reporter's own name), masked before it is cut; a JSON string that holds JSON is
 * masked as JSON. A payload that is not JSON shows only its size and digest: it cannot be masked reliably.
 */
export function maskPayload(payload: string, limit = Number.POSITIVE_INFINITY): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    // In groups of 4: a bare hex digest holds digit runs that a scanner (or a reader) takes for a phone.
    const digest = createHash('sha256').update(payload).digest('hex').match(/.{4}/g)!.join('-');
    return `[not JSON: ${Buffer.byteLength(payload)} bytes, sha256 ${digest}]`;
  }
  const masked = JSON.stringify(maskValue(parsed, '', reporterIn(parsed)));
  return masked.length <= limit ? masked : `${masked.slice(0, limit)}…[truncated]`;
}

/** The first `reporter` object anywhere in a parsed payload, to mask its name where it recurs. */
function reporterIn(value: unknown, depth = 0): Reporter | undefined {
  if (value === null || typeof value !== 'object' || depth > MAX_MASK_DEPTH) return undefined;
  const reporter = (value as { reporter?: unknown }).reporter;
  if (reporter && typeof reporter === 'object' && !Array.isArray(reporter)) {
    const name = (reporter as { name?: unknown }).name;
    return typeof name === 'string' ? { name } : {};
  }
  for (const child of Object.values(value)) {
    const found = reporterIn(child, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** Deeper than this, a payload's values are not walked (a hostile nesting would overflow the stack). */
const MAX_MASK_DEPTH = 32;

function maskValue(value: unknown, key: string, reporter: Reporter | undefined, depth = 0): unknown {
  if (depth > MAX_MASK_DEPTH) return '[nested too deep]';
  if (typeof value === 'string') {
    if (key === 'name') return maskName(value);
    if (key === 'phone') return maskPhone(value);
    if (key === 'id_number') return maskIdNumber(value);
    // A birth date (the base libraries' population feed) keeps its year only.
    if (key === 'birth_date') return value.replace(/^(\d{4}).*$/, '$1-**-**');
    const inner = /^\s*[[{]/.test(value) ? tryParse(value) : undefined;
    if (inner !== undefined)
      return JSON.stringify(maskValue(inner, key, reporterIn(inner) ?? reporter, depth + 1));
    return maskFreeText(value, reporter);
  }
  if (Array.isArray(value)) return value.map((v) => maskValue(v, key, reporter, depth + 1));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        maskFreeText(k, reporter),
        maskValue(v, k, reporter, depth + 1),
      ]),
    );
  }
  return value;
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
