/**
 * Benchmark Worker: signs `n` SQS SendMessage requests with one signer (the derived key cached after the
 * first) and answers how long that took by its own clock. workerd's clock only moves in whole milliseconds,
 * so the benchmark asks for many signatures at once and also compares against n = 0 from outside.
 */
import { SigV4Signer } from '../../src/edge/client/sigv4';

const signer = new SigV4Signer({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' }, 'eu-west-2', 'sqs');
const body = JSON.stringify({
  QueueUrl: 'https://sqs.eu-west-2.amazonaws.com/123456789012/cv-analytics-events.fifo',
  MessageBody: JSON.stringify({ eventType: 'query', requestId: '6f1c2a9e-5d1b-4c2e-9a51-0b7e3f6d2c11', timestamp: 1764154800123, query: 'Has she led a team using Kubernetes?' }),
  MessageGroupId: 'session-1',
  MessageDeduplicationId: '6f1c2a9e-5d1b-4c2e-9a51-0b7e3f6d2c11:query',
});

export default {
  async fetch(request: Request): Promise<Response> {
    const n = Number(new URL(request.url).searchParams.get('n') ?? '0');
    await signer.sign({ method: 'POST', url: 'https://sqs.eu-west-2.amazonaws.com/', headers: {}, body });
    const started = performance.now();
    for (let i = 0; i < n; i += 1) {
      await signer.sign({
        method: 'POST',
        url: 'https://sqs.eu-west-2.amazonaws.com/',
        headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.SendMessage' },
        body,
      });
    }
    return Response.json({ n, elapsedMs: performance.now() - started, derivations: signer.derivations });
  },
};
