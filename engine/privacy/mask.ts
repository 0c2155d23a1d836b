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

// Mainland mobile numbers (11 digits starting with 1), landlines with area code, 15/18-character IDs.
const ID_IN_TEXT = /(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])|(?<![0-9A-Za-z])\d{15}(?![0-9A-Za-z])/g;
const PHONE_IN_TEXT =
  /(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)|(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)/g;

/** Masks phone and ID numbers found anywhere in free text (descriptions, unparseable payloads). */
export function maskFreeText(text: string | undefined | null): string {
  if (!text) return '';
  return text.replace(ID_IN_TEXT, (m) => maskIdNumber(m)).replace(PHONE_IN_TEXT, (m) => maskPhone(m));
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
 * Masks a raw message payload for places outside the restricted layer (the dead letters): a JSON object
 * gets its `reporter` fields masked and every string field passed through `maskFreeText`; anything else
 * (invalid JSON, truncated text) is masked as free text.
 */
export function maskPayload(payload: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return maskFreeText(payload);
  }
  return JSON.stringify(maskValue(parsed, ''));
}

function maskValue(value: unknown, key: string): unknown {
  if (typeof value === 'string') {
    if (key === 'name') return maskName(value);
    if (key === 'phone') return maskPhone(value);
    if (key === 'id_number') return maskIdNumber(value);
    return maskFreeText(value);
  }
  if (Array.isArray(value)) return value.map((v) => maskValue(v, key));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskValue(v, k)]));
  }
  return value;
}
