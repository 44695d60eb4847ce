/**
 * The bench's results (bench/results.json), the table it prints and the SVG plot of roll time
 * against nodes. Pure: strings in, strings out; the entry point writes the files.
 */

/** One roll, with the fields the bench reports. `null`: not measurable yet (see `diagnostics`). */
export interface RollRow {
  nodes: number;
  groups: number;
  maxSurge: number | string;
  parallelGroups: number;
  modelSeconds: number | null;
  kopsModelSeconds: number;
  transitions: number;
  maxHistoryEvents: number;
  lambdaInvocations: number;
  awsCalls: number;
  minimalAwsCalls: number;
  costUsd: number;
  /** Workload pods on each node the roll drains. */
  podsPerNode: number;
  /** Over every invocation of the roll: its real handler time over its function's Timeout in template.yaml. */
  maxInvocationShareOfTimeout: number;
  /** Bytes of the largest state input or output of any execution of the roll. */
  maxStateBytes: number;
}

/** create and delete: a roll row without the kOps and drain columns. */
export type LifecycleRow = Omit<
  RollRow,
  'kopsModelSeconds' | 'podsPerNode' | 'maxInvocationShareOfTimeout' | 'maxStateBytes'
>;

/**
 * create: a lifecycle row, and what makes it comparable with kOps: `modelSeconds` is the
 * create-cluster execution alone; `simulatedSeconds` runs on until `validate cluster --wait`
 * passes (every node Ready), as `kopsModelSeconds` (scripts/bench/kops-create-model.ts) does.
 */
export interface CreateRow extends LifecycleRow {
  simulatedSeconds: number;
  kopsModelSeconds: number;
  /** simulatedSeconds / kopsModelSeconds. */
  ratioToKops: number;
  /** The cluster stack's longest chain of resources as the simulated AWS durations make it. */
  stackSeconds: number;
}

export interface WatcherRow {
  nodes: number;
  pods: number;
  seconds: number;
  peakMiB: number;
  kubeRequests: number;
  /** Mean bytes of one pod as the API serves it in a pod list (the whole object). */
  podBytes: number;
  /** Bytes of every response body the watcher's observation read. */
  bytesRead: number;
  /**
   * Mean bytes per pod of each representation the API offers, measured on the same pages: the
   * objects, metadata only (`as=PartialObjectMetadataList`), and Table rows with the metadata
   * (kubectl's default) or without any object (`includeObject=None`, what the watcher reads).
   */
  viewBytesPerPod: { object: number; metadata: number; table: number; tableWithoutObject: number };
}

export interface WatcherBurstRow {
  events: number;
  invocations: number;
  observations: number;
  kubeRequests: number;
}

/** scripts/bench-bundles.mjs's rows: per bundle, size, import time and peak RSS against its SDK-only baseline. */
export interface ColdStartRow {
  name: string;
  clients: string;
  size: number;
  baseSize: number;
  ms: number;
  rss: number;
  baseMs: number;
  baseRss: number;
}

/** What a section could not measure, or what stopped a run, in words; keyed by section and size. */
export type Diagnostics = Record<string, string>;

export interface BenchResults {
  generatedAt: string;
  /** When each section was last measured (`--only` re-measures some and keeps the others). */
  measuredAt: Record<string, string>;
  mode: 'quick' | 'full';
  machine: { node: string; cpus: number; loadAverage: number[] };
  settings: {
    bootSeconds: number;
    drainSeconds: number;
    podsPerNode: number;
    coldStartRuns: number;
  };
  roll: RollRow[];
  create: CreateRow[];
  delete: LifecycleRow[];
  watcher: WatcherRow[];
  watcherBurst: WatcherBurstRow[];
  coldStart: ColdStartRow[];
  diagnostics: Diagnostics;
  /** The targets against the rows above (those whose rows this run has). */
  targets?: TargetCheck[];
  /** Real seconds the whole `npm run bench` took (bound: 20 minutes on 2 cores). */
  benchSeconds?: number;
}

/** One of the targets, checked against a row: the figure, the bound, whether it holds. */
export interface TargetCheck {
  target: string;
  value: number;
  bound: number;
  met: boolean;
}

/** The largest roll the benchmark sets targets for, the watcher size and the most observations per cluster of a burst. */
export const TARGET_ROLL_NODES = 1000;
export const TARGET_WATCHER_NODES = 5000;
/** The small cluster's roll: 3 groups, maxSurge 10%, one group at a time (its own targets). */
export const SMALL_ROLL_NODES = 30;
export const TARGET_BENCH_SECONDS = 20 * 60;
/** The create row held to kOps's time: create is not slower at 300 nodes. */
export const TARGET_CREATE_NODES = 300;

/**
 * The targets, each checked where the results have its row: at 1,000 nodes a history
 * under 25,000 events in every execution, at most a third of the kOps model's time, at most 40
 * transitions and 10 AWS calls per replaced node; the watcher at 5,000 nodes under 256 MiB; at
 * most 5 observations per cluster in a burst (one cluster); the bench under 20 minutes.
 */
export function checkTargets(
  results: Pick<BenchResults, 'roll' | 'watcher' | 'watcherBurst' | 'benchSeconds'> & {
    mode?: BenchResults['mode'];
    create?: BenchResults['create'];
  },
): TargetCheck[] {
  const out: TargetCheck[] = [];
  const check = (target: string, value: number, bound: number, strict = false) =>
    out.push({
      target,
      value: Number(value.toFixed(3)),
      bound: Number(bound.toFixed(3)),
      met: strict ? value < bound : value <= bound,
    });
  // Create until the cluster validates, on AWS's simulated durations, against kOps's model of the same.
  const create = results.create?.find((r) => r.nodes === TARGET_CREATE_NODES);
  if (create?.kopsModelSeconds !== undefined)
    check(
      'create 300: simulatedSeconds <= kopsModelSeconds (create at 300 nodes no slower than kOps)',
      create.simulatedSeconds,
      create.kopsModelSeconds,
    );
  const roll = results.roll.find((r) => r.nodes === TARGET_ROLL_NODES);
  // A full bench without the 1,000-node row has not shown its targets: that is a miss, not a pass.
  if (!roll && results.mode === 'full')
    out.push({
      target: 'roll 1,000: measured (the row is in results.json)',
      value: 0,
      bound: 1,
      met: false,
    });
  if (roll) {
    check(
      'roll 1,000: maxHistoryEvents < 25,000 (every execution)',
      roll.maxHistoryEvents,
      25000,
      true,
    );
    if (roll.modelSeconds !== null)
      check(
        'roll 1,000: modelSeconds <= kopsModelSeconds / 3',
        roll.modelSeconds,
        roll.kopsModelSeconds / 3,
      );
    check('roll 1,000: transitions per replaced node <= 40', roll.transitions / roll.nodes, 40);
    check('roll 1,000: AWS calls per replaced node <= 10', roll.awsCalls / roll.nodes, 10);
  }
  // Small clusters are most clusters: their roll must be as lean per node and as fast as kOps.
  const small = results.roll.find((r) => r.nodes === SMALL_ROLL_NODES);
  if (small) {
    check('roll 30: transitions per replaced node <= 20', small.transitions / small.nodes, 20);
    check('roll 30: AWS calls per replaced node <= 10', small.awsCalls / small.nodes, 10);
    if (small.modelSeconds !== null)
      check(
        'roll 30: modelSeconds <= kopsModelSeconds',
        small.modelSeconds,
        small.kopsModelSeconds,
      );
  }
  // Real drains: a roll of at least 300 nodes with 110 pods a node, within Lambda's and Step Functions' limits.
  for (const r of results.roll.filter((row) => row.nodes >= 300 && row.podsPerNode >= 110)) {
    check(
      `roll ${r.nodes.toLocaleString('en-US')} (${r.podsPerNode} pods per node): maxInvocationShareOfTimeout < 0.5`,
      r.maxInvocationShareOfTimeout,
      0.5,
      true,
    );
    check(
      `roll ${r.nodes.toLocaleString('en-US')} (${r.podsPerNode} pods per node): maxStateBytes < 65,536`,
      r.maxStateBytes,
      65536,
      true,
    );
  }
  if (
    results.mode === 'full' &&
    !results.roll.some((row) => row.nodes >= 300 && row.podsPerNode >= 110)
  )
    out.push({
      target: 'roll >= 300 nodes at 110 pods per node: measured',
      value: 0,
      bound: 1,
      met: false,
    });
  const watcher = results.watcher.find((w) => w.nodes === TARGET_WATCHER_NODES);
  if (watcher) {
    check('watcher 5,000 nodes: peakMiB <= 256', watcher.peakMiB, 256);
    check('watcher 5,000 nodes: seconds <= 60', watcher.seconds, 60);
    if (watcher.bytesRead !== undefined)
      check('watcher 5,000 nodes: bytesRead <= 200 MB', watcher.bytesRead / 1e6, 200);
    // A floor, not a bound: pods smaller than real ones would make the other figures easy.
    if (watcher.podBytes !== undefined)
      out.push({
        target: 'watcher 5,000 nodes: podBytes >= 4,096 (realistic pods)',
        value: watcher.podBytes,
        bound: 4096,
        met: watcher.podBytes >= 4096,
      });
  }
  const burst = results.watcherBurst[0];
  if (burst)
    check('watcherBurst: observations per cluster <= 5 (one cluster)', burst.observations, 5);
  if (results.benchSeconds !== undefined)
    check('bench: seconds < 1,200', results.benchSeconds, TARGET_BENCH_SECONDS, true);
  return out;
}

export const ROLL_FIELDS = [
  'nodes',
  'groups',
  'maxSurge',
  'parallelGroups',
  'modelSeconds',
  'kopsModelSeconds',
  'transitions',
  'maxHistoryEvents',
  'lambdaInvocations',
  'awsCalls',
  'minimalAwsCalls',
  'costUsd',
  'podsPerNode',
  'maxInvocationShareOfTimeout',
  'maxStateBytes',
] as const;
const ROLL_ONLY = [
  'kopsModelSeconds',
  'podsPerNode',
  'maxInvocationShareOfTimeout',
  'maxStateBytes',
];
export const LIFECYCLE_FIELDS = ROLL_FIELDS.filter((f) => !ROLL_ONLY.includes(f));
export const CREATE_FIELDS = [
  ...LIFECYCLE_FIELDS,
  'stackSeconds',
  'simulatedSeconds',
  'kopsModelSeconds',
  'ratioToKops',
] as const;
export const WATCHER_FIELDS = [
  'nodes',
  'pods',
  'seconds',
  'peakMiB',
  'kubeRequests',
  'podBytes',
  'bytesRead',
] as const;
export const WATCHER_BURST_FIELDS = [
  'events',
  'invocations',
  'observations',
  'kubeRequests',
] as const;

function cell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return value.toLocaleString('en-US');
    return Math.abs(value) < 0.01 ? value.toPrecision(3) : value.toFixed(2);
  }
  return String(value);
}

/** A plain text table: a header row, then one row per object, numbers right-aligned. */
export function table(
  title: string,
  fields: readonly string[],
  rows: Array<Record<string, unknown>>,
): string {
  const cells = rows.map((row) => fields.map((f) => cell(row[f])));
  const widths = fields.map((f, i) => Math.max(f.length, ...cells.map((c) => c[i]!.length)));
  const line = (values: string[], header: boolean) =>
    values.map((v, i) => (header ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  return [
    title,
    line([...fields], true),
    ...(cells.length ? cells.map((c) => line(c, false)) : ['(no rows)']),
  ].join('\n');
}

/** Every section as tables, then the diagnostics, as the bench prints them. */
export function renderTables(results: BenchResults): string {
  const parts = [
    table(
      'roll (simulated seconds; kOps model: kOps 1.37 schedule with the same surge and timings)',
      ROLL_FIELDS,
      results.roll as never,
    ),
    table(
      'create (simulated AWS durations; until validate passes)',
      CREATE_FIELDS,
      results.create as never,
    ),
    table('delete', LIFECYCLE_FIELDS, results.delete as never),
    table(
      `watcher (${results.settings.podsPerNode} pods per node, one observation)`,
      WATCHER_FIELDS,
      results.watcher as never,
    ),
    table('watcherBurst', WATCHER_BURST_FIELDS, results.watcherBurst as never),
    table(
      'coldStart (median of fresh processes)',
      ['name', 'size', 'baseSize', 'ms', 'baseMs', 'rss', 'baseRss', 'clients'],
      results.coldStart as never,
    ),
  ];
  if (results.targets?.length)
    parts.push(
      [
        'targets',
        ...results.targets.map(
          (t) => `  ${t.met ? 'met   ' : 'MISSED'} ${t.target}: ${cell(t.value)}`,
        ),
      ].join('\n'),
    );
  const notes = Object.entries(results.diagnostics);
  if (notes.length) parts.push(['notes', ...notes.map(([k, v]) => `  ${k}: ${v}`)].join('\n'));
  return parts.join('\n\n');
}

/** Which section a diagnostics key belongs to (`roll.300` → roll; the lifecycle notes → roll). */
function sectionOfNote(key: string): string {
  const head = key.split('.')[0]!;
  return head === 'lifecycle' || head === 'modelSeconds' ? 'roll' : head;
}

/**
 * `previous` with the sections in `sections` replaced by `next`'s (their notes too): what
 * `npm run bench -- --only watcher` writes over an existing results.json. With `sizes` (`--sizes
 * 300`), the roll, create and delete rows of other sizes, and their notes, are kept.
 */
export function mergeResults(
  previous: BenchResults,
  next: BenchResults,
  sections: readonly string[],
  sizes?: readonly number[],
): BenchResults {
  const merged = {
    ...previous,
    generatedAt: next.generatedAt,
    mode: next.mode,
    machine: next.machine,
    settings: next.settings,
  } as BenchResults & Record<string, unknown>;
  const lifecycle = ['roll', 'create', 'delete'];
  // Sections whose rows are per size: `--sizes` replaces those sizes and keeps the others.
  const sized = [...lifecycle, 'watcher'];
  const rowsOf = (results: BenchResults, section: string) =>
    (results as unknown as Record<string, Array<{ nodes: number }>>)[section] ?? [];
  for (const section of sections) {
    const fresh = rowsOf(next, section);
    merged[section] =
      sizes && sized.includes(section)
        ? [
            ...rowsOf(previous, section).filter(
              (row) => !sizes.includes(row.nodes) && !fresh.some((f) => f.nodes === row.nodes),
            ),
            ...fresh,
          ].sort((a, b) => a.nodes - b.nodes)
        : fresh;
  }
  merged.measuredAt = { ...previous.measuredAt, ...next.measuredAt };
  const replaced = (key: string) => {
    const section = sectionOfNote(key);
    if (sizes && sized.includes(section)) {
      const size = Number(key.split('.')[1]);
      return Number.isInteger(size) ? sizes.includes(size) : true;
    }
    return (
      sections.includes(section) ||
      (lifecycle.includes(section) && sections.some((s) => lifecycle.includes(s)))
    );
  };
  merged.diagnostics = {
    ...Object.fromEntries(Object.entries(previous.diagnostics).filter(([key]) => !replaced(key))),
    ...next.diagnostics,
  };
  return merged;
}

const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Ticks at 1, 2, 5 × 10^k covering [0, max]. */
function niceStep(max: number, ticks: number): number {
  const raw = max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
}

/**
 * Roll time (hours) against nodes, one line per series, as a self-contained SVG. Series without
 * any measured point are named in the legend as not measured, never drawn as zero.
 */
export function rollTimeSvg(rows: RollRow[]): string {
  const width = 640;
  const height = 400;
  const margin = { left: 70, right: 20, top: 40, bottom: 60 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const sorted = [...rows].sort((a, b) => a.nodes - b.nodes);
  const series = [
    {
      name: 'kOps 1.37 (model)',
      colour: '#d62728',
      points: sorted.map((r) => [r.nodes, r.kopsModelSeconds / 3600] as const),
    },
    {
      name: 'kopsless (state machines, simulated clock)',
      colour: '#1f77b4',
      points: sorted
        .filter((r) => r.modelSeconds !== null)
        .map((r) => [r.nodes, (r.modelSeconds as number) / 3600] as const),
    },
  ];
  const maxX = Math.max(1, ...sorted.map((r) => r.nodes));
  const maxY = Math.max(0.1, ...series.flatMap((s) => s.points.map((p) => p[1])));
  const xStep = niceStep(maxX, 5);
  const yStep = niceStep(maxY, 5);
  const xMax = Math.ceil(maxX / xStep) * xStep;
  const yMax = Math.ceil(maxY / yStep) * yStep;
  const x = (v: number) => margin.left + (v / xMax) * plotW;
  const y = (v: number) => margin.top + plotH - (v / yMax) * plotH;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="14">Rolling update time vs nodes (maxSurge per group; npm run bench)</text>`,
  );
  for (let v = 0; v <= xMax + 1e-9; v += xStep) {
    out.push(
      `<line x1="${x(v)}" y1="${margin.top}" x2="${x(v)}" y2="${margin.top + plotH}" stroke="#eee"/>`,
    );
    out.push(
      `<text x="${x(v)}" y="${margin.top + plotH + 16}" text-anchor="middle">${cell(v)}</text>`,
    );
  }
  for (let v = 0; v <= yMax + 1e-9; v += yStep) {
    out.push(
      `<line x1="${margin.left}" y1="${y(v)}" x2="${margin.left + plotW}" y2="${y(v)}" stroke="#eee"/>`,
    );
    out.push(
      `<text x="${margin.left - 6}" y="${y(v) + 4}" text-anchor="end">${Number(v.toFixed(3))}</text>`,
    );
  }
  out.push(
    `<line x1="${margin.left}" y1="${margin.top + plotH}" x2="${margin.left + plotW}" y2="${margin.top + plotH}" stroke="black"/>`,
  );
  out.push(
    `<line x1="${margin.left}" y1="${margin.top}" x2="${margin.left}" y2="${margin.top + plotH}" stroke="black"/>`,
  );
  out.push(
    `<text x="${margin.left + plotW / 2}" y="${height - 20}" text-anchor="middle">nodes rolled</text>`,
  );
  out.push(
    `<text transform="translate(18 ${margin.top + plotH / 2}) rotate(-90)" text-anchor="middle">hours</text>`,
  );
  series.forEach((s, i) => {
    const ly = margin.top + 14 + i * 18;
    const measured = s.points.length > 0;
    out.push(
      `<line x1="${margin.left + 12}" y1="${ly - 4}" x2="${margin.left + 36}" y2="${ly - 4}" stroke="${s.colour}" stroke-width="2"${measured ? '' : ' stroke-dasharray="3 3"'}/>`,
    );
    out.push(
      `<text x="${margin.left + 42}" y="${ly}">${escapeXml(s.name + (measured ? '' : ': not measured yet'))}</text>`,
    );
    if (!measured) return;
    out.push(
      `<polyline fill="none" stroke="${s.colour}" stroke-width="2" points="${s.points.map(([px, py]) => `${x(px).toFixed(1)},${y(py).toFixed(1)}`).join(' ')}"/>`,
    );
    for (const [px, py] of s.points)
      out.push(
        `<circle cx="${x(px).toFixed(1)}" cy="${y(py).toFixed(1)}" r="3" fill="${s.colour}"><title>${px} nodes: ${(py * 60).toFixed(1)} min</title></circle>`,
      );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
