import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DescribeInstanceTypesCommand,
  EC2Client,
  type InstanceTypeInfo,
} from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ec2Api, toInstanceTypeInfo } from '../../src/aws/ec2.js';
import { maxPodsFor } from '../../src/cli/max-pods.js';
import { calculateMaxPods } from '../../src/planning/max-pods.js';
import { REFERENCE_DIR } from '../helpers.js';
import { startTestBackend, type TestBackend } from '../support/moto.js';

// The calculator fed by the local backend's DescribeInstanceTypes, against the VPC CNI's own table.
let backend: TestBackend;
let known: Map<string, InstanceTypeInfo>;

beforeAll(async () => {
  backend = await startTestBackend();
  const ec2 = new EC2Client({});
  known = new Map();
  let token: string | undefined;
  do {
    const page = await ec2.send(
      new DescribeInstanceTypesCommand({ NextToken: token, MaxResults: 100 }),
    );
    for (const t of page.InstanceTypes ?? []) known.set(t.InstanceType ?? '', t);
    token = page.NextToken;
  } while (token);
}, 120_000);
afterAll(() => backend?.stop());

const table = readFileSync(join(REFERENCE_DIR, 'vpc-cni', 'eni-max-pods.txt'), 'utf8')
  .split('\n')
  .filter((line) => line && !line.startsWith('#'))
  .map((line) => line.trim().split(/\s+/) as [string, string]);

describe('max pods against the VPC CNI reference table', () => {
  it('matches the table with --show-max-allowed for every type the backend knows', () => {
    const compared = table.filter(([type]) => known.has(type));
    const mismatches = compared
      .map(
        ([type, expected]) =>
          [
            type,
            Number(expected),
            calculateMaxPods(toInstanceTypeInfo(known.get(type)!), { showMaxAllowed: true })
              .maxPods,
          ] as const,
      )
      .filter(([, expected, actual]) => expected !== actual);

    expect(compared.length).toBeGreaterThan(1000);
    expect(mismatches).toEqual([]);
  });

  it('answers several types with one batched call and an error entry for an unknown one', async () => {
    const calls: string[][] = [];
    const api = ec2Api(new EC2Client({}));
    const counting = {
      ...api,
      describeInstanceTypes: async (types: string[]) => (
        calls.push(types), api.describeInstanceTypes(types)
      ),
    };

    const entries = await maxPodsFor(
      ['t3.medium', 'm5.large', 'x9.nothing'],
      {},
      { ec2: counting, region: 'us-east-1' },
    );

    expect(calls).toHaveLength(1);
    expect(entries).toEqual([
      expect.objectContaining({ instanceType: 't3.medium', maxPods: 17 }),
      expect.objectContaining({ instanceType: 'm5.large', maxPods: 29 }),
      {
        instanceType: 'x9.nothing',
        error: 'instance type "x9.nothing" is not offered in us-east-1',
      },
    ]);
  });

  it('applies prefix delegation to Nitro types only, saying why not on Xen', async () => {
    const entries = await maxPodsFor(
      ['t3.medium', 'm4.large'],
      { prefixDelegation: true },
      { ec2: ec2Api(new EC2Client({})), region: 'us-east-1' },
    );

    expect(entries[0]).toMatchObject({ maxPods: 110, prefixDelegation: true });
    expect(entries[1]).toMatchObject({ maxPods: 20, prefixDelegation: false });
    expect('notes' in entries[1]! && entries[1].notes.join()).toMatch(
      /not a Nitro or bare-metal instance/,
    );
  });
});
