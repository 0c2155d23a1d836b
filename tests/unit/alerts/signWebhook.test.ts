import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { signWebhook } from '../../../engine/alerts/signWebhook.ts';
import { WebhookVerifier } from '../../../engine/alerts/webhookReceiver.ts';

const OLD = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const NEW = 'whsec_UyDyyz5ALz1qN65lA7blRcGYz+v/Qk4Y';
const body = '{"specversion":"1.0","id":"al_x.firing","data":{"value":1}}';

describe('signWebhook', () => {
  it('signs so that the standardwebhooks library verifies it', () => {
    const headers = signWebhook([NEW], 'al_x.firing', new Date(), body);
    expect(new Webhook(NEW).verify(body, { ...headers })).toEqual(JSON.parse(body));
    expect(headers['webhook-id']).toBe('al_x.firing');
  });

  it('carries one signature per secret during a rotation: old and new receivers both verify', () => {
    const headers = signWebhook([NEW, OLD], 'al_x.firing', new Date(), body);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(() => new Webhook(OLD).verify(body, { ...headers })).not.toThrow();
    expect(() => new Webhook(NEW).verify(body, { ...headers })).not.toThrow();
    expect(() => new Webhook('whsec_ClIzedh2p+9X9VjeOQc3GWp6ACItt2VD').verify(body, { ...headers })).toThrow(
      /No matching signature/,
    );
  });
});

describe('WebhookVerifier (the receiver side)', () => {
  it('accepts a genuine request once and rejects tampering, replays and stale timestamps', () => {
    const verifier = new WebhookVerifier([OLD]);
    const headers = { ...signWebhook([OLD], 'al_y.firing', new Date(), body) };
    expect(verifier.verify(body, headers)).toMatchObject({ ok: true, id: 'al_y.firing' });
    expect(verifier.verify(body, headers)).toMatchObject({ ok: false, reason: 'replayed' });
    const tampered = body.replace('"value":1', '"value":9');
    expect(
      verifier.verify(tampered, { ...signWebhook([OLD], 'al_z.firing', new Date(), body) }),
    ).toMatchObject({
      ok: false,
      reason: 'bad-signature',
    });
    const stale = { ...signWebhook([OLD], 'al_w.firing', new Date(Date.now() - 6 * 60_000), body) };
    expect(verifier.verify(body, stale)).toMatchObject({ ok: false, reason: 'stale-timestamp' });
    expect(verifier.verify(body, { 'webhook-id': 'x' })).toMatchObject({
      ok: false,
      reason: 'missing-headers',
    });
  });
});
