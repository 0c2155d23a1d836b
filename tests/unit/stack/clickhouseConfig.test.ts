import { describe, expect, it } from 'vitest';
import { loadEnvironment } from '../../../engine/config/environment.ts';
import { renderServerConfig, renderUsersConfig } from '../../../engine/stack/clickhouseService.ts';

/** The settings of one profile of users.xml, by name. */
function profile(xml: string, name: string): Record<string, string> {
  const body = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml.split('<users>')[0]!)?.[1] ?? '';
  return Object.fromEntries([...body.matchAll(/<(\w+)>([^<]*)<\/\1>/g)].map((m) => [m[1]!, m[2]!]));
}

describe('the local ClickHouse as configured', () => {
  const env = loadEnvironment({});
  const users = renderUsersConfig(env);

  it("lets only the server's own profile, which its Kafka tables read with, skip what does not parse", () => {
    expect(renderServerConfig('/tmp/x', env)).toContain('<default_profile>kafka_tables</default_profile>');
    expect(profile(users, 'kafka_tables')).toMatchObject({
      input_format_skip_unknown_fields: '1',
      input_format_allow_errors_ratio: '1',
    });
    // Users' profiles apply over the server's: ours must fail on a misspelt column or a bad row.
    for (const name of ['default', 'analyst'])
      expect(profile(users, name), name).toMatchObject({
        input_format_skip_unknown_fields: '0',
        input_format_allow_errors_ratio: '0',
      });
  });
});
