/**
 * Kubernetes' int-or-string values (`maxSurge: 1`, `maxSurge: 25%`), read as its intstr package
 * reads them. Both the validator (which refuses what this cannot parse) and the roll planner
 * (which scales the value to a group's size) use it.
 */

/** Parses an int-or-percent as Kubernetes' intstr does; percentages of `total`, rounded up or down. */
export function intOrPercent(
  value: number | string,
  total: number,
  roundUp: boolean,
): number | Error {
  if (typeof value === 'number')
    return Number.isInteger(value) ? value : new Error(`invalid value for IntOrString: ${value}`);
  const match = /^(-?\d+)%$/.exec(value);
  if (!match) {
    return /^-?\d+$/.test(value)
      ? Number(value)
      : new Error(`invalid value for IntOrString: invalid type: string is not a percentage`);
  }
  const scaled = (Number(match[1]) * total) / 100;
  return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
}
