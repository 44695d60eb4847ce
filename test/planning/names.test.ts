import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dns1123SubdomainErrors } from '../../src/manifest/validate.js';
import {
  clusterNameRecordProblems,
  groupName,
  type InstanceRoleKind,
  iamRoleName,
  instanceProfileName,
  kopsGroupName,
  NAME_LIMITS,
  NAME_PREFIX,
  type SecurityGroupKind,
  securityGroupName,
  stackName,
  stackRoleName,
} from '../../src/planning/names.js';
import { stackRolePath } from '../../src/planning/stack-role.js';

// Every name AWS scopes per account or region must differ for any two valid clusters (or
// (instance group, cluster) pairs), and fit AWS's limits even for 253-character names.

const ROLE_KINDS: InstanceRoleKind[] = ['masters', 'nodes', 'bastions'];
const SG_KINDS: SecurityGroupKind[] = ['masters', 'nodes', 'bastion'];

/** One DNS-1123 label: the building block of cluster and instance group names. */
const label = fc
  .tuple(
    fc.stringMatching(/^[a-z0-9]$/),
    fc.stringMatching(/^[-a-z0-9]{0,61}$/),
    fc.stringMatching(/^[a-z0-9]$/),
    fc.boolean(),
  )
  .map(([first, middle, last, short]) => (short ? first : `${first}${middle}${last}`));

/** A valid DNS-1123 subdomain of 1-8 labels, at most 253 characters. */
const subdomain = fc.array(label, { minLength: 1, maxLength: 8 }).map((labels) =>
  labels
    .join('.')
    .slice(0, 253)
    .replace(/[-.]+$/, ''),
);
const clusterName = subdomain.filter(
  (n) => n.includes('.') && dns1123SubdomainErrors(n).length === 0,
);
const groupNameArb = subdomain.filter(
  (n) => n.length > 0 && dns1123SubdomainErrors(n).length === 0,
);

/** Names that look alike: a `.` and a `-` swapped, the collision the old flattening made. */
const swapped = (name: string): string[] => {
  const out: string[] = [];
  for (let i = 1; i < name.length - 1; i++) {
    if (name[i] === '.' || name[i] === '-')
      out.push(name.slice(0, i) + (name[i] === '.' ? '-' : '.') + name.slice(i + 1));
  }
  return out.filter((n) => n.includes('.') && dns1123SubdomainErrors(n).length === 0);
};

/** Every per-cluster name, keyed by the AWS namespace it lives in. */
function clusterNames(cluster: string): Record<string, string[]> {
  return {
    stack: [stackName(cluster)],
    iamRole: [...ROLE_KINDS.map((k) => iamRoleName(k, cluster)), stackRoleName(cluster)],
    instanceProfile: ROLE_KINDS.map((k) => instanceProfileName(k, cluster)),
    securityGroup: SG_KINDS.map((k) => securityGroupName(k, cluster)),
  };
}

function expectDisjoint(a: Record<string, string[]>, b: Record<string, string[]>): void {
  for (const namespace of Object.keys(a)) {
    const theirs = new Set(b[namespace]);
    for (const name of a[namespace]!) expect(theirs.has(name), `${namespace} ${name}`).toBe(false);
  }
}

const LONGEST_CLUSTER = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;
const LONGEST_GROUP = `${'e'.repeat(63)}.${'f'.repeat(63)}.${'g'.repeat(63)}.${'h'.repeat(61)}`;

describe('AWS names', () => {
  it('gives two clusters whose dashes and dots swap places different names of every kind', () => {
    expectDisjoint(clusterNames('x.y-z.example.com'), clusterNames('x-y.z.example.com'));
  });

  it('gives two instance groups whose names join to the same text different group and launch template names', () => {
    expect(groupName('nodes-us-east-1a.q', 'p.example.com')).not.toBe(
      groupName('nodes-us-east-1a', 'q.p.example.com'),
    );
  });

  it('keeps the kOps name readable in the AWS name and exact in the Name tag value', () => {
    expect(stackName('seed.example.com')).toMatch(/^kopsless-seed-example-com-[0-9a-f]{16}$/);
    expect(iamRoleName('masters', 'seed.example.com')).toMatch(
      /^kopsless-masters-seed\.example\.com-[0-9a-f]{16}$/,
    );
    expect(groupName('nodes-us-east-1a', 'seed.example.com')).toMatch(
      /^kopsless-nodes-us-east-1a\.seed\.example\.com-[0-9a-f]{16}$/,
    );
    expect(kopsGroupName('nodes-us-east-1a', 'seed.example.com')).toBe(
      'nodes-us-east-1a.seed.example.com',
    );
  });

  it('starts stack, IAM role, instance profile and group names with kopsless- (the IAM policies rely on it)', () => {
    const names = [
      stackName(LONGEST_CLUSTER),
      ...ROLE_KINDS.flatMap((k) => [
        iamRoleName(k, LONGEST_CLUSTER),
        instanceProfileName(k, LONGEST_CLUSTER),
      ]),
      groupName(LONGEST_GROUP, LONGEST_CLUSTER),
    ];

    for (const name of names) expect(name.startsWith(NAME_PREFIX)).toBe(true);
  });

  it('fits the AWS limits for the longest valid names', () => {
    expect(dns1123SubdomainErrors(LONGEST_CLUSTER)).toEqual([]);
    expect(LONGEST_CLUSTER).toHaveLength(253);

    expect(stackName(LONGEST_CLUSTER).length).toBeLessThanOrEqual(NAME_LIMITS.stack);
    for (const k of ROLE_KINDS)
      expect(iamRoleName(k, LONGEST_CLUSTER).length).toBeLessThanOrEqual(NAME_LIMITS.iamRole);
    for (const k of SG_KINDS)
      expect(securityGroupName(k, LONGEST_CLUSTER).length).toBeLessThanOrEqual(
        NAME_LIMITS.securityGroup,
      );
    expect(groupName(LONGEST_GROUP, LONGEST_CLUSTER).length).toBeLessThanOrEqual(
      NAME_LIMITS.launchTemplate,
    );
  });

  it("fits a cluster's stack role in IAM's limits: a 64-character name, a 512-character path", () => {
    expect(stackRoleName(LONGEST_CLUSTER)).toMatch(/^kopsless-stack-[\w+=,.@-]+-[0-9a-f]{16}$/);
    expect(stackRoleName(LONGEST_CLUSTER).length).toBeLessThanOrEqual(NAME_LIMITS.iamRole);
    expect(stackRolePath(LONGEST_CLUSTER)).toBe(`/kopsless/stack/${LONGEST_CLUSTER}/`);
    expect(stackRolePath(LONGEST_CLUSTER).length).toBeLessThanOrEqual(512);
  });

  it('never maps two valid clusters to one name of any kind, look-alikes included', () => {
    const distinctPair = fc.oneof(
      fc.tuple(clusterName, clusterName).filter(([a, b]) => a !== b),
      clusterName.chain((a) =>
        swapped(a).length > 0
          ? fc.constantFrom(...swapped(a)).map((b) => [a, b] as [string, string])
          : fc.constant([a, `${a}.x`] as [string, string]),
      ),
    );

    fc.assert(
      fc.property(distinctPair, ([a, b]) => {
        expectDisjoint(clusterNames(a), clusterNames(b));
      }),
      { numRuns: 3000 },
    );
  });

  it('never maps two valid (instance group, cluster) pairs to one group or launch template name, a label moved between them included', () => {
    const pair = fc.tuple(groupNameArb, clusterName);
    const distinctPairs = fc.oneof(
      fc.tuple(pair, pair).filter(([[g1, c1], [g2, c2]]) => g1 !== g2 || c1 !== c2),
      // `<ig>.<first label>` of `<rest>` against `<ig>` of `<first label>.<rest>`: one kOps name.
      pair
        .filter(([, c]) => c.split('.').length > 2)
        .map(([g, c]) => {
          const [first, ...rest] = c.split('.');
          return [
            [`${g}.${first}`, rest.join('.')],
            [g, c],
          ] as [[string, string], [string, string]];
        })
        .filter(([[g1]]) => g1.length <= 253),
    );

    fc.assert(
      fc.property(distinctPairs, ([[g1, c1], [g2, c2]]) => {
        expect(groupName(g1, c1)).not.toBe(groupName(g2, c2));
      }),
      { numRuns: 3000 },
    );
  });

  it('respects the charset and length of every kind for any valid names', () => {
    fc.assert(
      fc.property(groupNameArb, clusterName, (group, cluster) => {
        const stack = stackName(cluster);
        expect(stack).toMatch(/^[A-Za-z][A-Za-z0-9-]*$/);
        expect(stack.length).toBeLessThanOrEqual(NAME_LIMITS.stack);
        for (const k of ROLE_KINDS) {
          expect(iamRoleName(k, cluster)).toMatch(/^[\w+=,.@-]{1,64}$/);
          expect(instanceProfileName(k, cluster).length).toBeLessThanOrEqual(
            NAME_LIMITS.instanceProfile,
          );
        }
        for (const k of SG_KINDS) {
          const sg = securityGroupName(k, cluster);
          expect(sg.length).toBeLessThanOrEqual(NAME_LIMITS.securityGroup);
          expect(sg.startsWith('sg-')).toBe(false);
        }
        const asg = groupName(group, cluster);
        expect(asg).toMatch(/^[a-zA-Z0-9().\-/_]{3,128}$/);
        expect(asg.length).toBeLessThanOrEqual(
          Math.min(NAME_LIMITS.launchTemplate, NAME_LIMITS.autoScalingGroup),
        );
      }),
      { numRuns: 2000 },
    );
  });
});

describe('cluster names and the records they write', () => {
  it('refuses a name whose first label is internal, and only that', () => {
    expect(clusterNameRecordProblems('internal.b.example.com')).toEqual([
      'its first label is "internal": its API record api.internal.b.example.com would be the internal API record of cluster b.example.com',
    ]);
    expect(clusterNameRecordProblems('api.b.example.com')).toEqual([]);
    expect(clusterNameRecordProblems('b.internal.example.com')).toEqual([]);
  });

  it('keeps api.internal.<name> within the 253 characters of a DNS name', () => {
    const longest = `${'a'.repeat(60)}.`.repeat(3).concat('b'.repeat(57));
    const tooLong = `${longest}b`;

    expect(longest).toHaveLength(240);
    expect(clusterNameRecordProblems(longest)).toEqual([]);
    expect(`api.internal.${longest}`).toHaveLength(253);
    expect(clusterNameRecordProblems(tooLong)).toEqual([
      'it has more than 240 characters: its internal API record api.internal.<name> would be longer than the 253 DNS allows',
    ]);
  });
});
