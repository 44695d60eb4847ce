import { describe, expect, it } from 'vitest';
import { KOPS_CREATE, kopsCreateSchedule } from '../../scripts/bench/kops-create-model.js';

// Hand-computed: 5 s to prepare, 1 s rounds, instance profiles in round 1 and usable 10 s later,
// the ASGs tried at the end of round 3 (8 s), refused, tried again 11 s later (19 s) and made
// (20 s); create returns at 21 s; the API serves 30 s before a node would be Ready (140 s),
// records in sync 65 s later, nodes Ready 30 s after that (235 s); validate from 21 s every 10 s
// passes at 241 s.
const figures = {
  instanceProfilePropagationSeconds: 10,
  nodeReadySeconds: 150,
  route53ChangeSeconds: 60,
};

describe("kOps's create model", () => {
  it('schedules cloudup, the control plane, dns-controller and validation as kOps runs them', () => {
    expect(kopsCreateSchedule(figures)).toEqual({
      groupsCreated: 20,
      cloudupDone: 21,
      apiServing: 140,
      recordsInSync: 205,
      nodesReady: 235,
      seconds: 241,
    });
  });

  it('retries the Auto Scaling groups every executor pause until the instance profile has propagated', () => {
    const slow = kopsCreateSchedule({ ...figures, instanceProfilePropagationSeconds: 30 });

    // Usable at 36 s: tries at 8, 19 and 30 s are refused, the one at 41 s succeeds.
    expect(slow.groupsCreated).toBe(42);
    expect(KOPS_CREATE.retrySeconds).toBe(10);
  });

  it("passes validation at validate's first look (every 10 s from create's return) after the last node is Ready", () => {
    const schedule = kopsCreateSchedule({ ...figures, nodeReadySeconds: 157 });

    expect(schedule.nodesReady).toBe(242);
    expect(schedule.seconds).toBe(21 + 23 * 10);
  });
});
