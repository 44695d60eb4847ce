import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { type AwsCall, inFunction, observeAwsCalls } from '../../src/local/instrument/aws-calls.js';

// An S3 client that never leaves the process: every request gets an empty 200.
function offlineS3(): S3Client {
  return new S3Client({
    region: 'us-east-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    requestHandler: {
      handle: async () => ({
        response: {
          statusCode: 200,
          headers: {},
          body: (await import('node:stream')).Readable.from([]),
        } as never,
      }),
    },
  });
}

let stop: (() => void) | undefined;
afterEach(() => stop?.());

describe('AWS call recording on the local backend', () => {
  it('attributes a call made inside a function invocation to that function, with its operation, input and key', async () => {
    const seen: AwsCall[] = [];
    stop = observeAwsCalls({ before: (call) => void seen.push(call) });
    const s3 = offlineS3();

    await inFunction('WriteStateFunction', () =>
      s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'c/config' })),
    );

    expect(seen).toEqual([
      {
        functionId: 'WriteStateFunction',
        service: 'S3',
        operation: 'GetObject',
        input: { Bucket: 'b', Key: 'c/config' },
        region: 'us-east-1',
        accessKeyId: 'a',
      },
    ]);
  });

  it('does not record calls made outside any function (tests, the simulated API server)', async () => {
    const seen: AwsCall[] = [];
    stop = observeAwsCalls({ before: (call) => void seen.push(call) });

    await offlineS3().send(new GetObjectCommand({ Bucket: 'b', Key: 'c/config' }));

    expect(seen).toEqual([]);
  });

  it("lets an observer answer in place of the service's output, inside a function only", async () => {
    const outputs: unknown[] = [];
    stop = observeAwsCalls({
      after: (_call, outcome) => void outputs.push(outcome.output),
      answer: (call, output) =>
        call.operation === 'GetObject'
          ? { ...(output as object), ContentType: 'text/plain' }
          : undefined,
    });
    const s3 = offlineS3();

    const inside = await inFunction('WriteStateFunction', () =>
      s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'c/config' })),
    );
    const outside = await s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'c/config' }));

    expect(outputs).toHaveLength(1);
    expect(outputs[0]).toHaveProperty('output.$metadata');
    expect(inside.ContentType).toBe('text/plain');
    expect(outside.ContentType).toBeUndefined();
  });
});
