import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseYamlConfig } from '../../../engine/config/yamlConfig.ts';

const Loose = z.record(z.string(), z.unknown());

describe('parseYamlConfig', () => {
  it('reads YAML 1.2 core: an unquoted date stays a string, a merge key is an ordinary key', () => {
    const dated = parseYamlConfig('valid_from: 2026-01-01T00:00:00+08:00\n', 'a.yaml', Loose);
    expect(dated).toEqual({ ok: true, data: { valid_from: '2026-01-01T00:00:00+08:00' } });
    const merged = parseYamlConfig('base: &b { retry: 3 }\nendpoint:\n  <<: *b\n  url: x\n', 'b.yaml', Loose);
    expect(merged).toEqual({
      ok: true,
      data: { base: { retry: 3 }, endpoint: { '<<': { retry: 3 }, url: 'x' } },
    });
  });

  it('refuses an alias bomb instead of expanding it', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(', ')}]`);
    }
    const result = parseYamlConfig(`${levels.join('\n')}\n`, 'bomb.yaml', Loose);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problems.join('\n')).toMatch(/bomb\.yaml: .*alias/i);
  });

  it('places every problem at its line, and refuses duplicate keys', () => {
    const schema = z.strictObject({ port: z.number(), name: z.string() });
    const result = parseYamlConfig('port: eighty\nname: 3\n', 'c.yaml', schema);
    expect(result).toEqual({
      ok: false,
      problems: [
        expect.stringMatching(/^c\.yaml:1:7: port: /),
        expect.stringMatching(/^c\.yaml:2:7: name: /),
      ],
    });
    const duplicate = parseYamlConfig('port: 1\nport: 2\nname: x\n', 'd.yaml', schema);
    expect(duplicate.ok).toBe(false);
  });
});
