import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KafkaJS } from '@confluentinc/kafka-javascript';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DepartmentKafka,
  departmentKafkaPlan,
  readDepartmentKafka,
} from '../../../engine/access/departmentKafka.ts';
import { loadCatalogue } from '../../../engine/catalogue/loadCatalogue.ts';
import type { Grant } from '../../../engine/catalogue/projection.ts';
import { loadEnvironment } from '../../../engine/config/environment.ts';
import { createKafka, ensureTopics } from '../../../engine/connectors/kafka/client.ts';
import { STREAM_NAMES, streamTopic } from '../../../engine/contract/topics.ts';
import type { Logger } from '../../../engine/observability/logger.ts';
import { applyKafkaAccess } from '../../../engine/stack/kafkaAccess.ts';
import { testEnv, uniqueSuffix } from '../../helpers/environment.ts';

/**
 * The departments' Kafka principals (issue 16) on the real broker: a department reads an input topic only
 * when it receives the class whole and unmasked (an unconditional class, or a conditional one under a
 * live grant of every item); a class with personal data never goes out as a topic; a revoked grant's topic
 * is closed by the next pass. The shipped catalogue holds every raw payload back, so there no department
 * reads any topic; the rest runs on a copy whose raw-payload rule covers none of these classes.
 */
describe("departments' Kafka users follow the catalogue and the grants", async () => {
  const { catalogue } = await loadCatalogue();
  const suffix = uniqueSuffix();
  const prefix = `test.deptkafka.${suffix}.`;
  const topics = STREAM_NAMES.map((s) => streamTopic(s, prefix));
  const path = join(mkdtempSync(join(tmpdir(), 'city-ops-dept-kafka-')), 'department-kafka.json');
  // Users of this test only, so that the stack's own department users keep their passwords.
  const userOf = (department: string) => `t${suffix}-${department}`;
  let grants: Grant[] = [];
  const policy = {
    catalogue: {
      ...catalogue,
      negative_list: catalogue.negative_list.map((rule) =>
        rule.items.includes('payload') ? { ...rule, resources: ['no.such.class'] } : rule,
      ),
    },
    grants: () => grants,
  };
  const applied: string[][] = [];
  const kafka = new DepartmentKafka(
    path,
    (lines) => {
      applied.push(lines);
      applyKafkaAccess(testEnv, lines);
    },
    userOf,
  );
  const transportGrant: Grant = {
    id: `g-${suffix}`,
    department: 'emergency',
    resource: 'input.transport',
    items: ['*'],
    purpose: 'evacuation routing',
    approved_by: 'transport: duty officer',
    valid_from: new Date(Date.now() - 60_000).toISOString(),
    valid_until: new Date(Date.now() + 3_600_000).toISOString(),
  };

  const as = (department: string, logger?: Logger) => {
    const user = readDepartmentKafka(path).users.find((u) => u.department === department)!;
    return createKafka(
      loadEnvironment({ ...process.env, KAFKA_SASL_USERNAME: user.user, KAFKA_SASL_PASSWORD: user.password }),
      user.user,
      logger,
    );
  };
  /** The topics of this test a department's user can see (a topic it may not describe is not listed). */
  const visible = async (department: string) => {
    const admin = as(department).admin();
    await admin.connect();
    try {
      return (await admin.listTopics()).filter((t) => t.startsWith(prefix)).sort();
    } finally {
      await admin.disconnect();
    }
  };
  /**
   * The first record of `topic` as the department reads it, in its own consumer group; rejects with the
   * broker's refusal (which the client logs and retries forever) as soon as it comes.
   */
  const readFirst = async (department: string, topic: string) => {
    let refused: (error: Error) => void = () => {};
    const logger = pino(
      { level: 'warn' },
      {
        write(line: string) {
          const why = /[^"\\]*authorization failed/i.exec(line);
          if (why) refused(new Error(`refused: ${why[0]}`));
        },
      },
    );
    const consumer = as(department, logger).consumer({
      kafkaJS: { groupId: `${userOf(department)}.reader-${uniqueSuffix()}`, fromBeginning: true },
    } as KafkaJS.ConsumerConstructorConfig);
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic] });
      return await new Promise<string>((resolve, reject) => {
        refused = reject;
        const timer = setTimeout(() => reject(new Error(`nothing read from ${topic} in 60 s`)), 60_000);
        consumer
          .run({
            eachMessage: async ({ message }) => {
              clearTimeout(timer);
              resolve(String(message.value));
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
  };

  beforeAll(async () => {
    await ensureTopics(testEnv, topics, 1);
    const producer = createKafka(testEnv, 'dept-kafka-test').producer();
    await producer.connect();
    for (const topic of topics) await producer.send({ topic, messages: [{ value: `first of ${topic}` }] });
    await producer.disconnect();
  });

  afterAll(async () => {
    // The test's users keep no right on the broker (a SCRAM user without ACLs can do nothing).
    const left = readDepartmentKafka(path).applied.map((line) => line.replace(/^acl\t/, 'revoke\t'));
    if (left.length > 0) applyKafkaAccess(testEnv, left);
    const admin = createKafka(testEnv, 'dept-kafka-cleanup').admin();
    await admin.connect();
    await admin.deleteTopics({ topics }).catch(() => {});
    await admin.disconnect();
  });

  it('gives no department any topic under the shipped catalogue, which holds raw payloads back', () => {
    const { rights, acls } = departmentKafkaPlan(
      { catalogue, grants: () => [transportGrant] },
      prefix,
      userOf,
    );
    expect(rights.length).toBe(catalogue.departments.length);
    for (const r of rights) {
      expect(r.topics).toEqual([]);
      for (const topic of topics) expect(r.refused[topic]).toMatch(/raw payload.*\(raw-payloads\)/);
    }
    expect(acls.every((line) => line.includes('\tGROUP\t'))).toBe(true);
  });

  it('gives every department the unconditional population topic, and no one the events topic', async () => {
    const { rights } = await kafka.sync(policy, prefix);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    for (const r of rights) {
      expect(r.topics).toContain(streamTopic('population', prefix));
      expect(r.topics).not.toContain(streamTopic('events', prefix));
      expect(r.refused[streamTopic('events', prefix)]).toMatch(
        r.department === 'urban-management' ? /reporter\.name.*cannot leave them out/ : /no live grant/,
      );
    }
    // The transport class is conditional: only its provider reads it without a grant.
    const transport = (d: string) => rights.find((r) => r.department === d)!.topics;
    expect(transport('transport')).toContain(streamTopic('transport', prefix));
    expect(transport('emergency')).not.toContain(streamTopic('transport', prefix));
    expect(await visible('emergency')).toEqual([streamTopic('population', prefix)]);
    expect(await readFirst('emergency', streamTopic('population', prefix))).toBe(
      `first of ${streamTopic('population', prefix)}`,
    );
  });

  it('opens a conditional topic under a live grant of every item, and closes it at revocation', async () => {
    grants = [{ ...transportGrant, items: ['id', 'ts', 'lat', 'lon'] }];
    let pass = await kafka.sync(policy, prefix);
    expect(pass.added).toEqual([]);
    expect(pass.rights.find((r) => r.department === 'emergency')!.refused).toMatchObject({
      [streamTopic('transport', prefix)]: expect.stringMatching(/vehicle, mode, route/),
    });

    grants = [transportGrant];
    pass = await kafka.sync(policy, prefix);
    expect(pass.added.length).toBe(2);
    expect(await visible('emergency')).toEqual(
      [streamTopic('population', prefix), streamTopic('transport', prefix)].sort(),
    );
    expect(await readFirst('emergency', streamTopic('transport', prefix))).toBe(
      `first of ${streamTopic('transport', prefix)}`,
    );

    const before = applied.length;
    expect((await kafka.sync(policy, prefix)).added).toEqual([]);
    expect(applied.length).toBe(before); // nothing changed: no JVM start

    grants = [{ ...transportGrant, revoked_at: new Date().toISOString() }];
    pass = await kafka.sync(policy, prefix);
    expect(pass.revoked.length).toBe(2);
    expect(await visible('emergency')).toEqual([streamTopic('population', prefix)]);
    await expect(readFirst('emergency', streamTopic('transport', prefix))).rejects.toThrow(
      /refused: .*Topic authorization failed/,
    );
  });

  it('revokes what a new process no longer plans, from the rules the file says were applied', async () => {
    grants = [transportGrant];
    await kafka.sync(policy, prefix);
    expect(await visible('emergency')).toContain(streamTopic('transport', prefix));
    grants = [];
    const restarted = new DepartmentKafka(path, (lines) => applyKafkaAccess(testEnv, lines), userOf);
    const pass = await restarted.sync(policy, prefix);
    expect(pass.revoked.length).toBe(2);
    expect(await visible('emergency')).toEqual([streamTopic('population', prefix)]);
  });
});
