import { describe, expect, it } from 'vitest';
import { loadEnvironment } from '../../../engine/config/environment.ts';
import { allTopics, topicSettings } from '../../../engine/contract/topics.ts';
import { isLoopback } from '../../../engine/server/mapServer.ts';
import { TOPIC_ACCESS, topicGrants, userGrants } from '../../../engine/stack/kafkaAccess.ts';
import { renderServerProperties } from '../../../engine/stack/kafkaService.ts';

describe('the local broker and topics as configured', () => {
  const properties = renderServerProperties('/tmp/x', loadEnvironment({}), 'secret-admin-password');

  it('takes no unauthenticated client and allows nothing without an ACL', () => {
    expect(properties).not.toMatch(/PLAINTEXT:PLAINTEXT|:\/\/[^,\n]*PLAINTEXT:\/\//);
    expect(properties).toContain(
      'listener.security.protocol.map=CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT',
    );
    expect(properties).toContain('allow.everyone.if.no.acl.found=false');
    expect(properties).toContain('super.users=User:admin');
    expect(properties).toContain('message.max.bytes=1048576');
  });

  it("takes PLAIN on the client listener for the engine's principal alone (ClickHouse's Kafka tables)", () => {
    expect(properties).toContain('listener.name.client.sasl.enabled.mechanisms=SCRAM-SHA-512\n');
    const withPlain = renderServerProperties('/tmp/x', loadEnvironment({}), 'admin-pw', 'engine-pw');
    expect(withPlain).toContain('listener.name.client.sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN');
    const plainUsers = [...withPlain.matchAll(/listener\.name\.client\.plain\.sasl\.jaas\.config=.*$/gm)];
    expect(plainUsers).toHaveLength(1);
    expect([...plainUsers[0]![0].matchAll(/user_(\w+)=/g)].map((m) => m[1])).toEqual(['engine']);
    expect(withPlain).toContain('allow.everyone.if.no.acl.found=false');
  });

  it('stamps input records with the broker clock and keeps the outbox', () => {
    for (const stream of ['city.transport', 'city.events', 'city.population'])
      expect(topicSettings(`p.${stream}`)).toEqual([
        { name: 'message.timestamp.type', value: 'LogAppendTime' },
      ]);
    expect(topicSettings('city.alerts')).toEqual([{ name: 'retention.ms', value: '-1' }]);
    expect(topicSettings('city.aggregates')).toEqual([]);
  });

  it('grants every topic of ours to someone, and the outbox only to the alert service to write', () => {
    for (const topic of allTopics('x.')) expect(topicGrants([topic]).length, topic).toBeGreaterThan(0);
    const writers = topicGrants(['x.city.alerts'])
      .filter((line) => line.endsWith('\tWRITE'))
      .map((line) => line.split('\t')[1]);
    expect(writers).toEqual(['User:alerts']);
    expect(Object.keys(TOPIC_ACCESS)).toHaveLength(allTopics().length);
    const users = userGrants({ admin: 'a', engine: 'e', map: 'm', alerts: 'l', publisher: 'p' });
    expect(users.filter((l) => l.startsWith('user\t')).map((l) => l.split('\t')[1])).toEqual([
      'engine',
      'map',
      'alerts',
      'publisher',
    ]);
    expect(users.some((l) => l.includes('User:publisher\tGROUP'))).toBe(false);
  });

  it('tells loopback addresses from reachable ones', () => {
    for (const host of ['127.0.0.1', '127.8.0.1', '::1', 'localhost'])
      expect(isLoopback(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '192.168.1.2', '1270.0.0.1'])
      expect(isLoopback(host), host).toBe(false);
  });
});
