import { describe, expect, it } from 'vitest';
import {
  KopsValidationTimeoutError,
  kopsModelSeconds,
  kopsSchedule,
  kopsSettings,
  nodeGroups,
} from '../../scripts/bench/kops-model.js';

// Hand-computed schedules (boot 120 s, drain 60 s, kOps's defaults: 15 s interval, 5 s post-drain
// delay, validation every 30 s until 2 successes 10 s apart).
const timings = { bootSeconds: 120, drainSeconds: 60 };

describe('kopsSettings', () => {
  it('defaults to maxSurge 1 and maxUnavailable 0 on AWS', () => {
    expect(kopsSettings({ name: 'n', role: 'Node', instances: 5 })).toEqual({
      maxSurge: 1,
      maxUnavailable: 0,
    });
  });

  it('rounds a percentage maxSurge up and a percentage maxUnavailable down to at least 1', () => {
    expect(
      kopsSettings({
        name: 'n',
        role: 'Node',
        instances: 15,
        maxSurge: '10%',
        maxUnavailable: '5%',
      }),
    ).toEqual({ maxSurge: 2, maxUnavailable: 1 });
  });

  it('makes maxUnavailable 1 when maxSurge is 0', () => {
    expect(kopsSettings({ name: 'n', role: 'Node', instances: 5, maxSurge: 0 })).toEqual({
      maxSurge: 0,
      maxUnavailable: 1,
    });
  });

  it('refuses a malformed surge, naming the group', () => {
    expect(() =>
      kopsSettings({ name: 'nodes-a', role: 'Node', instances: 5, maxSurge: '10 percent' }),
    ).toThrow(/nodes-a\.maxSurge/);
  });
});

describe('kopsSchedule', () => {
  it('rolls one surged node in 235 s: detach, 15 s, validate until the new node is Ready, drain, terminate, 15 s, validate twice', () => {
    // surge at 0 (new node Ready at 120); validate 15, 45, 75, 105 fail, 135 and 145 pass;
    // drain 145-205, delay to 210, interval to 225; validate 225 and 235 pass.
    expect(kopsSchedule([{ name: 'n', role: 'Node', instances: 1 }], timings).seconds).toBe(235);
  });

  it('rolls three nodes with surge 1 in 655 s: two batches wait for a replacement, the detached one does not', () => {
    // surge done 145; batch 1 drained 210 (Ready 330), validate 225..345 fail/pass, 355;
    // batch 2 drained 420 (Ready 540), passes 555 and 565; detached batch drained 630, passes 645 and 655.
    expect(kopsSchedule([{ name: 'n', role: 'Node', instances: 3 }], timings).seconds).toBe(655);
  });

  it('replaces a control-plane instance without a surge in 210 s', () => {
    // drained 65 (Ready 185), interval to 80; validate 80, 110, 140, 170 fail, 200 and 210 pass.
    expect(
      kopsSchedule([{ name: 'cp', role: 'ControlPlane', instances: 1, maxSurge: 1 }], timings)
        .seconds,
    ).toBe(210);
  });

  it('rolls bastions first, then the control plane, then nodes, one group after another', () => {
    // bastion: no first validation, no drain: surge validated at 145, terminated, 160 and 170 pass.
    const schedule = kopsSchedule(
      [
        { name: 'nodes', role: 'Node', instances: 1 },
        { name: 'cp', role: 'ControlPlane', instances: 1 },
        { name: 'bastion', role: 'Bastion', instances: 1 },
      ],
      timings,
    );

    expect(schedule.groups.map((g) => [g.name, g.startSeconds, g.endSeconds])).toEqual([
      ['bastion', 0, 170],
      ['cp', 170, 380],
      ['nodes', 380, 615],
    ]);
    expect(schedule.seconds).toBe(615);
  });

  it('stops where kOps would when a node never becomes Ready within the validation timeout', () => {
    expect(() =>
      kopsSchedule([{ name: 'n', role: 'Node', instances: 1 }], {
        bootSeconds: 3600,
        drainSeconds: 60,
      }),
    ).toThrow(KopsValidationTimeoutError);
  });

  it('refuses a negative timing, naming it', () => {
    expect(() =>
      kopsSchedule([{ name: 'n', role: 'Node', instances: 1 }], {
        bootSeconds: -1,
        drainSeconds: 60,
      }),
    ).toThrow(/timings\.bootSeconds/);
  });
});

describe('kopsModelSeconds', () => {
  it('takes 21,250 s for 1,000 nodes in 10 groups at maxSurge 10%: 145 s surge, 9 batches of 210 s, 90 s for the detached batch, per group', () => {
    expect(kopsModelSeconds({ nodes: 1000, groups: 10, maxSurge: '10%', ...timings })).toBe(21_250);
  });

  it('splits nodes over groups as evenly as possible', () => {
    expect(nodeGroups({ nodes: 32, groups: 3, maxSurge: 1 }).map((g) => g.instances)).toEqual([
      11, 11, 10,
    ]);
  });

  it('takes as long for 300 nodes as for 30 at a percentage surge: the batches per group stay 10', () => {
    const small = kopsModelSeconds({ nodes: 30, groups: 3, maxSurge: '10%', ...timings });
    const large = kopsModelSeconds({ nodes: 300, groups: 3, maxSurge: '10%', ...timings });

    expect(large).toBe(small);
  });

  it('grows with the number of nodes at a fixed surge of 1', () => {
    const small = kopsModelSeconds({ nodes: 30, groups: 3, maxSurge: 1, ...timings });
    const large = kopsModelSeconds({ nodes: 300, groups: 3, maxSurge: 1, ...timings });

    expect(large).toBeGreaterThan(small);
  });
});
