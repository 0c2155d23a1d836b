import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  maskFreeText,
  maskIdNumber,
  maskName,
  maskPayload,
  maskPhone,
  maskReporter,
} from '../../../engine/privacy/mask.ts';

const digits = (n: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: n, maxLength: n });
const mobile = fc.tuple(fc.constantFrom('13', '15', '17', '18', '19'), digits(9)).map(([a, b]) => a + b);
const idNumber = fc.tuple(digits(17), fc.constantFrom(...'0123456789X')).map(([a, b]) => a + b);

describe('masking personal data', () => {
  it('keeps at most the first character of a name', () => {
    expect(maskName('张三丰')).toBe('张**');
    expect(maskName('Li Wei')).toBe('L*****');
    expect(maskName('')).toBe('');
  });

  it('keeps 3 + 2 digits of a mobile number and 6 + 1 characters of an ID number', () => {
    expect(maskPhone('13812345678')).toBe('138******78');
    expect(maskPhone('+86 138-1234-5678')).toBe('138******78');
    expect(maskIdNumber('440304199001011234')).toBe('440304***********4');
    fc.assert(
      fc.property(mobile, idNumber, (phone, id) => {
        expect(maskPhone(phone)).toMatch(/^\d{3}\*{6}\d{2}$/);
        expect(maskIdNumber(id)).toMatch(/^\d{6}\*{11}[\dX]$/);
      }),
    );
  });

  it('finds phone and ID numbers in free text and masks them', () => {
    fc.assert(
      fc.property(mobile, idNumber, fc.string(), (phone, id, noise) => {
        const text = `${noise} 报告人电话 ${phone}，身份证 ${id}。${noise}`;
        const masked = maskFreeText(text);
        expect(masked).not.toContain(phone);
        expect(masked).not.toContain(id.slice(6, 17));
      }),
      { numRuns: 300 },
    );
  });

  it('masks the reporter and every string of a JSON payload, and unparseable payloads as text', () => {
    const payload = JSON.stringify({
      id: 'e-1',
      reporter: { name: '王小明', phone: '13912345678', id_number: '440304199001011234' },
      description: '联系 13912345678',
    });
    const masked = maskPayload(payload);
    expect(masked).not.toMatch(/小明|13912345678|19900101/);
    expect(JSON.parse(masked).reporter).toEqual({
      name: '王**',
      phone: '139******78',
      id_number: '440304***********4',
    });
    expect(maskPayload('{"broken": "13912345678"')).toMatch(
      /^\[not JSON: 24 bytes, sha256 [0-9a-f]{4}(-[0-9a-f]{4}){15}\]$/,
    );
    expect(maskReporter(undefined)).toBeNull();
  });

  it('masks a birth date to its year, and answers a hostile nesting without overflowing the stack', () => {
    const person = JSON.stringify({
      id: 'P1',
      name: '王伟',
      birth_date: '1990-05-01',
      id_number: '440304199005011234',
    });
    expect(maskPayload(person)).not.toMatch(/05-01|19900501|伟/);
    expect(JSON.parse(maskPayload(person)).birth_date).toBe('1990-**-**');
    const deep = `{"id":"P1","x":${'['.repeat(30_000)}${']'.repeat(30_000)}}`;
    expect(maskPayload(deep)).toContain('[nested too deep]');
    expect(maskPayload(`${'['.repeat(30_000)}${']'.repeat(30_000)}`).length).toBeLessThan(1_000);
  });
});

/** The ways a number gets written: groups with dots, spaces, dashes; full-width digits. */
function written(number: string, style: number): string {
  const groups = number.length === 11 ? [3, 4, 4] : number.length === 18 ? [6, 8, 4] : [4, 4, 4];
  const parts: string[] = [];
  let at = 0;
  for (const g of groups) {
    parts.push(number.slice(at, at + g));
    at += g;
  }
  if (at < number.length) parts.push(number.slice(at));
  const separator = ['', '.', ' ', '  ', '-', ' - '][style % 6]!;
  const text = parts.join(separator);
  return style >= 6 ? text.replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d))) : text;
}

describe('masking personal data written in every form', () => {
  it('masks the forms a review saw unmasked', () => {
    const cases = [
      '138.1234.5678',
      '138 1234  5678',
      '1381 234 5678',
      '１３８１２３４５６７８',
      '440304 19900101 1234',
      '440304-19900101-123X',
      '(0755) 8888 6666',
      '０７５５－８８８８６６６６',
    ];
    for (const text of cases) {
      const masked = maskFreeText(`报告 ${text} 处理`);
      expect(masked, text).not.toMatch(/1234|8888|6666|19900101/);
      expect(masked, text).toMatch(/^报告 .*\*{4,}.* 处理$/);
    }
    // Dates and short numbers stay.
    expect(maskFreeText('2026-11-27 08:00 3 号线 B12345')).toBe('2026-11-27 08:00 3 号线 B12345');
  });

  it("masks the reporter's own name where the text repeats it", () => {
    expect(maskFreeText('张三丰报告：张三丰家门口积水', { name: '张三丰' })).toBe('张**报告:张**家门口积水'); // NFKC: the full-width colon comes out as ':';
  });

  it('never shows the middle digits of a phone or ID number, however written (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(mobile, idNumber),
        fc.nat(11),
        fc.string({ maxLength: 12 }).filter((t) => !/[0-9０-９]/.test(t)),
        (number, style, noise) => {
          const masked = maskFreeText(`${noise}${written(number, style)}${noise}`);
          const middle = number.length === 18 ? number.slice(6, 17) : number.slice(3, 9);
          expect(masked.replace(/[^0-9*X]/g, '')).not.toContain(middle);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('masks a payload before cutting it, and JSON inside a JSON string', () => {
    const reporter = { name: '赵六', phone: '13700001111', id_number: '440304199001011234' };
    const long = JSON.stringify({ id: 'e', description: 'x'.repeat(5_000), reporter });
    const cut = maskPayload(long, 4_096);
    expect(cut).toMatch(/…\[truncated\]$/);
    expect(cut).not.toMatch(/赵六|13700001111|4403041990/);
    const twice = JSON.stringify(JSON.stringify({ id: 'e', reporter, description: '赵六说' }));
    expect(maskPayload(twice)).not.toMatch(/赵六|13700001111|19900101/);
    expect(maskPayload('张三丰 13812345678 not json')).not.toMatch(/张|138/);
  });
});
