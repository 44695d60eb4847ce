import type { FieldIssue } from '../errors.js';

/**
 * Builders for field errors worded as Kubernetes' `field.ErrorList` words them, which is what
 * kOps prints: `spec.subnets[1].cidr: Invalid value: "10.0.0.0/33": Could not be parsed as a CIDR`.
 */

function render(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value ?? null);
}

export const field = {
  required(path: string, detail = ''): FieldIssue {
    return { path, message: detail ? `Required value: ${detail}` : 'Required value' };
  },
  invalid(path: string, value: unknown, detail: string): FieldIssue {
    return { path, message: `Invalid value: ${render(value)}: ${detail}` };
  },
  forbidden(path: string, detail: string): FieldIssue {
    return { path, message: `Forbidden: ${detail}` };
  },
  notSupported(path: string, value: unknown, supported: readonly string[]): FieldIssue {
    return {
      path,
      message: `Unsupported value: ${render(value)}: supported values: ${supported.map((s) => `"${s}"`).join(', ')}`,
    };
  },
  duplicate(path: string, value: unknown): FieldIssue {
    return { path, message: `Duplicate value: ${render(value)}` };
  },
  /** Kubernetes's `field.TooLong` (the value itself is left out: it is the long part). */
  tooLong(path: string, limit: number, detail = ''): FieldIssue {
    return {
      path,
      message: `Too long: must have at most ${limit} bytes${detail ? ` (${detail})` : ''}`,
    };
  },
  notFound(path: string, value: unknown): FieldIssue {
    return { path, message: `Not found: ${render(value)}` };
  },
  /** A valid kOps setting that kopsless does not build (exit code 3, never "invalid"). */
  unsupported(path: string, detail: string): FieldIssue {
    return { path, message: `not supported: ${detail}` };
  },
};

/** `spec.subnets` + 1 -> `spec.subnets[1]`. */
export function index(path: string, i: number): string {
  return `${path}[${i}]`;
}
