import { Webhook, WebhookVerificationError } from 'standardwebhooks';

/** Why a request was refused. */
export type RejectReason = 'bad-signature' | 'stale-timestamp' | 'missing-headers' | 'replayed';

/**
 * What a department's receiver does with a city-ops webhook, as a reusable reference (tests and
 * `docs/alerts.md` use it): verifies the Standard Webhooks signature with the `standardwebhooks` library
 * against any of its secrets (rotation), rejects timestamps older or newer than 5 minutes (the library's
 * tolerance) and rejects a `webhook-id` it has already accepted (replays; retries of a delivery whose 2xx was
 * lost come back with the same id and are acknowledged without acting twice).
 *
 * @example
 * const verifier = new WebhookVerifier(['whsec_...']);
 * const result = verifier.verify(rawBody, request.headers);
 * if (!result.ok) return respond(result.reason === 'replayed' ? 200 : 401);
 */
export class WebhookVerifier {
  private readonly webhooks: Webhook[];
  private readonly seen = new Map<string, number>();

  constructor(
    secrets: readonly string[],
    private readonly rememberMs = 10 * 60_000,
  ) {
    this.webhooks = secrets.map((secret) => new Webhook(secret));
  }

  /**
   * Forgets an accepted id, for a receiver that could not act on the request after all (it answered an
   * error): the sender's retry of it must then be accepted.
   */
  forget(id: string): void {
    this.seen.delete(id);
  }

  /** Verifies one request; `headers` as Node gives them (lowercase names). */
  verify(
    body: string,
    headers: Record<string, string | string[] | undefined>,
    now = Date.now(),
  ): { ok: true; id: string; payload: unknown } | { ok: false; reason: RejectReason; detail: string } {
    const single = (name: string) => {
      const value = headers[name];
      return Array.isArray(value) ? value[0] : value;
    };
    const id = single('webhook-id');
    const timestamp = single('webhook-timestamp');
    const signature = single('webhook-signature');
    if (!id || !timestamp || !signature) {
      return {
        ok: false,
        reason: 'missing-headers',
        detail: 'webhook-id, -timestamp and -signature are required',
      };
    }
    let lastError = 'no secret configured';
    for (const webhook of this.webhooks) {
      try {
        const payload = webhook.verify(body, {
          'webhook-id': id,
          'webhook-timestamp': timestamp,
          'webhook-signature': signature,
        });
        for (const [seenId, at] of this.seen) if (now - at > this.rememberMs) this.seen.delete(seenId);
        if (this.seen.has(id))
          return { ok: false, reason: 'replayed', detail: `webhook-id ${id} was already accepted` };
        this.seen.set(id, now);
        return { ok: true, id, payload };
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
        if (error instanceof WebhookVerificationError && /too (old|new)/.test(lastError)) {
          return { ok: false, reason: 'stale-timestamp', detail: lastError };
        }
      }
    }
    return { ok: false, reason: 'bad-signature', detail: lastError };
  }
}
