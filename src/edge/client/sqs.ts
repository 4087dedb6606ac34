/**
 * SendMessage and SendMessageBatch over the SQS JSON protocol, signed with SigV4.
 *
 * JSON rather than the Query protocol: smaller requests, errors with a machine-readable type, and the protocol
 * the AWS SDKs use today. A send never throws: it resolves to a result saying whether SQS took the messages
 * and, if not, a short reason. One attempt may be repeated once, after a jittered pause, when SQS throttled
 * (429 or a throttling error code) or failed on its side (5xx); everything fits in one deadline (default 3 s)
 * so a hanging endpoint cannot hold the Worker's waitUntil open.
 */
import { SigV4Signer, type Credentials } from './sigv4';

export interface OutgoingMessage {
  body: string;
  groupId: string;
  deduplicationId: string;
}

export type SendResult = { ok: true; attempts: number } | { ok: false; attempts: number; reason: string };

export interface TransportOptions {
  queueUrl: string;
  region: string;
  credentials: Credentials;
  timeoutMs: number;
  fetch: typeof fetch;
  random: () => number;
  /** Base pause before the retry; the actual pause is between half and one and a half times this. */
  retryDelayMs: number;
  signer?: SigV4Signer;
}

const JSON_CONTENT_TYPE = 'application/x-amz-json-1.0';
export const MAX_BATCH = 10;

interface AttemptOutcome {
  ok: boolean;
  retryable: boolean;
  reason: string;
  /** Entries still to send after a partly failed batch. */
  remaining?: OutgoingMessage[];
}

function errorCode(status: number, text: string, headers: Headers): string {
  const queryError = headers.get('x-amzn-query-error');
  if (queryError) return queryError.split(';')[0]!;
  try {
    const parsed = JSON.parse(text) as { __type?: string; code?: string };
    const type = parsed.__type ?? parsed.code;
    if (type) return type.slice(type.lastIndexOf('#') + 1);
  } catch {
    // not JSON: moto and some AWS front ends answer signature errors in XML
  }
  const xml = /<Code>([^<]{1,100})<\/Code>/.exec(text);
  return xml ? xml[1]! : `HTTP ${status}`;
}

function isThrottling(code: string): boolean {
  return /throttl|toomanyrequests|requestlimitexceeded/i.test(code);
}

/** SQS failed on its side (5xx) or throttled: a bare 429 from a front end, or a throttling error code. */
function isRetryable(status: number, code: string): boolean {
  return status >= 500 || status === 429 || isThrottling(code);
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 200);
  return String(error).slice(0, 200);
}

export class SqsTransport {
  readonly #options: TransportOptions;
  readonly #endpoint: string;
  readonly #signer: SigV4Signer;

  constructor(options: TransportOptions) {
    this.#options = options;
    this.#endpoint = `${new URL(options.queueUrl).origin}/`;
    this.#signer = options.signer ?? new SigV4Signer(options.credentials, options.region, 'sqs');
  }

  #payload(messages: OutgoingMessage[]): { target: string; body: string } {
    const queueUrl = this.#options.queueUrl;
    if (messages.length === 1) {
      const [message] = messages as [OutgoingMessage];
      return {
        target: 'AmazonSQS.SendMessage',
        body: JSON.stringify({
          QueueUrl: queueUrl,
          MessageBody: message.body,
          MessageGroupId: message.groupId,
          MessageDeduplicationId: message.deduplicationId,
        }),
      };
    }
    return {
      target: 'AmazonSQS.SendMessageBatch',
      body: JSON.stringify({
        QueueUrl: queueUrl,
        Entries: messages.map((message, index) => ({
          Id: String(index),
          MessageBody: message.body,
          MessageGroupId: message.groupId,
          MessageDeduplicationId: message.deduplicationId,
        })),
      }),
    };
  }

  async #attempt(messages: OutgoingMessage[], deadline: number): Promise<AttemptOutcome> {
    const { target, body } = this.#payload(messages);
    const remainingMs = deadline - Date.now();
    if (remainingMs <= 0) return { ok: false, retryable: false, reason: `timeout after ${this.#options.timeoutMs} ms` };
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, remainingMs);
    try {
      const signed = await this.#signer.sign({
        method: 'POST',
        url: this.#endpoint,
        headers: { 'content-type': JSON_CONTENT_TYPE, 'x-amz-target': target },
        body,
      });
      // The runtime sets Host from the URL; the signature covers the same value.
      delete signed['host'];
      const response = await this.#options.fetch(this.#endpoint, {
        method: 'POST',
        headers: signed,
        body,
        signal: controller.signal,
      });
      const text = await response.text();
      if (!response.ok) {
        const code = errorCode(response.status, text, response.headers);
        return {
          ok: false,
          retryable: isRetryable(response.status, code),
          reason: code.startsWith('HTTP ') ? code : `HTTP ${response.status} ${code}`,
        };
      }
      if (messages.length === 1) return { ok: true, retryable: false, reason: '' };
      return this.#batchOutcome(messages, text);
    } catch (error) {
      if (timedOut) return { ok: false, retryable: false, reason: `timeout after ${this.#options.timeoutMs} ms` };
      return { ok: false, retryable: false, reason: describe(error) };
    } finally {
      clearTimeout(timer);
    }
  }

  #batchOutcome(messages: OutgoingMessage[], text: string): AttemptOutcome {
    let failed: Array<{ Id?: string; Code?: string; SenderFault?: boolean }> = [];
    try {
      failed = (JSON.parse(text) as { Failed?: typeof failed }).Failed ?? [];
    } catch {
      return { ok: false, retryable: false, reason: 'unreadable SendMessageBatch answer' };
    }
    if (failed.length === 0) return { ok: true, retryable: false, reason: '' };
    const remaining = failed
      .map((entry) => messages[Number(entry.Id)])
      .filter((message): message is OutgoingMessage => message !== undefined);
    return {
      ok: false,
      retryable: failed.every((entry) => entry.SenderFault === false),
      reason: `${failed.length} of ${messages.length} rejected: ${failed[0]?.Code ?? 'unknown'}`,
      remaining,
    };
  }

  /** Send up to ten messages in one request. Never throws. */
  async send(messages: OutgoingMessage[]): Promise<SendResult> {
    if (messages.length === 0) return { ok: true, attempts: 0 };
    if (messages.length > MAX_BATCH) throw new RangeError(`at most ${MAX_BATCH} messages per request`);
    const deadline = Date.now() + this.#options.timeoutMs;
    let pending = messages;
    let outcome = await this.#attempt(pending, deadline);
    if (outcome.ok) return { ok: true, attempts: 1 };
    if (outcome.retryable) {
      const pause = this.#options.retryDelayMs * (0.5 + this.#options.random());
      if (Date.now() + pause < deadline) {
        await new Promise((resolve) => setTimeout(resolve, pause));
        pending = outcome.remaining ?? pending;
        outcome = await this.#attempt(pending, deadline);
        if (outcome.ok) return { ok: true, attempts: 2 };
        return { ok: false, attempts: 2, reason: outcome.reason };
      }
    }
    return { ok: false, attempts: 1, reason: outcome.reason };
  }
}
