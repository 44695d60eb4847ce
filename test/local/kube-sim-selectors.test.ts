import { describe, expect, it } from 'vitest';
import {
  BadSelectorError,
  parseFieldSelector,
  parseLabelSelector,
  selectorMatches,
} from '../../src/local/kube-sim/selectors.js';

const worker = {
  'kops.k8s.io/instancegroup': 'nodes-us-east-1a',
  'node-role.kubernetes.io/node': '',
};
const controlPlane = {
  'kops.k8s.io/instancegroup': 'control-plane-us-east-1a',
  'node-role.kubernetes.io/control-plane': '',
};

describe('label selector queries', () => {
  it('!key selects objects without the label', () => {
    const select = parseLabelSelector('!node-role.kubernetes.io/control-plane');

    expect([select(worker), select(controlPlane)]).toEqual([true, false]);
  });

  it('key selects objects with the label, whatever its value', () => {
    const select = parseLabelSelector('node-role.kubernetes.io/control-plane');

    expect([select(worker), select(controlPlane)]).toEqual([false, true]);
  });

  it('key in (a,b) and key notin (a) compare the value with a set', () => {
    const inSet = parseLabelSelector(
      'kops.k8s.io/instancegroup in (nodes-us-east-1a, nodes-us-east-1b)',
    );
    const notIn = parseLabelSelector('kops.k8s.io/instancegroup notin (nodes-us-east-1a)');

    expect([
      inSet(worker),
      inSet(controlPlane),
      notIn(worker),
      notIn(controlPlane),
      notIn(undefined),
    ]).toEqual([true, false, false, true, true]);
  });

  it('combines equality and set-based terms, commas inside parentheses included', () => {
    const select = parseLabelSelector(
      'kops.k8s.io/instancegroup in (nodes-us-east-1a,x),!node-role.kubernetes.io/control-plane,kops.k8s.io/instancegroup!=y',
    );

    expect([select(worker), select(controlPlane)]).toEqual([true, false]);
  });

  it('refuses a key Kubernetes would refuse, naming it', () => {
    expect(() => parseLabelSelector('bad key=1')).toThrow(BadSelectorError);
    expect(() => parseLabelSelector('bad/key/x=1')).toThrow(/invalid label key "bad\/key\/x"/);
  });
});

describe('label selectors apimachinery refuses, with its messages', () => {
  it('a ( where a value belongs', () => {
    expect(() => parseLabelSelector('app=(')).toThrow(
      "unable to parse requirement: found '(', expected: identifier",
    );
  });

  it('a set that is never closed', () => {
    expect(() => parseLabelSelector('app in (a')).toThrow(
      "unable to parse requirement: found '', expected: ',' or ')'",
    );
  });

  it('in without a set', () => {
    expect(() => parseLabelSelector('app in a')).toThrow(
      "unable to parse requirement: found 'a' expected: '('",
    );
  });

  it('a trailing comma', () => {
    expect(() => parseLabelSelector('app=web,')).toThrow(
      "found '', expected: identifier after ','",
    );
  });

  it('two operators in one term', () => {
    expect(() => parseLabelSelector('a=b=c')).toThrow(
      "found '=', expected: ',' or 'end of string'",
    );
  });
});

describe('label selectors apimachinery accepts', () => {
  it('notin () is the set holding the empty value: a label with a value passes, an empty one does not', () => {
    const select = parseLabelSelector('app notin ()');

    expect([select({ app: 'web' }), select({ app: '' }), select({})]).toEqual([true, false, true]);
  });

  it('an empty value after = selects the empty label', () => {
    const select = parseLabelSelector('app=');

    expect([select({ app: '' }), select({ app: 'web' })]).toEqual([true, false]);
  });
});

describe('workload selectors', () => {
  it('matchExpressions narrow matchLabels', () => {
    const selector = {
      matchLabels: { app: 'web' },
      matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['canary'] }],
    };

    expect([
      selectorMatches({ app: 'web', tier: 'main' }, selector),
      selectorMatches({ app: 'web', tier: 'canary' }, selector),
    ]).toEqual([true, false]);
  });
});

describe('field selector queries', () => {
  const event = {
    involvedObject: { name: 'web-1', namespace: 'default', uid: 'u1' },
    source: { component: 'kopsless' },
  };

  it('matches the involvedObject fields kubectl describe sends, and an event source', () => {
    expect(
      parseFieldSelector(
        'involvedObject.name=web-1,involvedObject.namespace=default,involvedObject.uid=u1',
      )(event),
    ).toBe(true);
    expect(parseFieldSelector('involvedObject.uid=u2')(event)).toBe(false);
    expect(parseFieldSelector('source=kopsless')(event)).toBe(true);
  });

  it('treats a missing field as the empty string, as the API server does for a node event namespace', () => {
    expect(parseFieldSelector('involvedObject.kind=')(event)).toBe(true);
  });

  it('refuses a field its kind does not index, when told which it does', () => {
    expect(() => parseFieldSelector('spec.foo=bar', ['metadata.name', 'status.phase'])).toThrow(
      'field label not supported: spec.foo',
    );
  });

  it('reads an absent boolean field as its default', () => {
    expect(
      parseFieldSelector('spec.hostNetwork=false', ['spec.hostNetwork'], {
        'spec.hostNetwork': 'false',
      })({ spec: {} }),
    ).toBe(true);
  });

  it('refuses a term that is not field=value', () => {
    expect(() => parseFieldSelector('status.phase')).toThrow(
      "invalid selector: 'status.phase'; can't understand 'status.phase'",
    );
  });
});
