import { Webhook } from 'standardwebhooks';

/** The three Standard Webhooks headers of one request. */
export interface WebhookHeaders {
  readonly 'webhook-id': string;
  readonly 'webhook-timestamp': string;
  readonly 'webhook-signature': string;
}

/**
 * Signs a webhook body per Standard Webhooks with every secret of an endpoint (newest first), giving a
 * `webhook-signature` of space-separated `v1,<base64>` signatures, so a receiver holding any one of the
 * secrets verifies it (secret rotation). `id` stays the same across retries; the timestamp is the time of
 * this attempt (wall clock, seconds), so retries are signed afresh.
 *
 * @example
 * const headers = signWebhook(['whsec_...'], event.id, new Date(), body);
 */
export function signWebhook(
  secrets: readonly string[],
  id: string,
  at: Date,
  body: string,
  cache: Map<string, Webhook> = defaultCache,
): WebhookHeaders {
  const signatures = secrets.map((secret) => {
    let webhook = cache.get(secret);
    if (!webhook) {
      webhook = new Webhook(secret);
      cache.set(secret, webhook);
    }
    return webhook.sign(id, at, body);
  });
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signatures.join(' '),
  };
}

const defaultCache = new Map<string, Webhook>();
