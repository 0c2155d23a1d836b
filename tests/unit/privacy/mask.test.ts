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
    expect(maskPayload('{"broken": "13912345678"')).not.toContain('13912345678');
    expect(maskReporter(undefined)).toBeNull();
  });
});
