/** A cron expression (six fields, seconds first; five are read as minute-first) in words. */
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const pad = (value: string) => value.padStart(2, '0');
const isNumber = (value: string) => /^\d+$/.test(value);

export function scheduleInWords(cron: string | null, timezone: string, scheduledAt: string | null): string {
  if (cron === null) {
    return scheduledAt === null ? 'once' : `once at ${formatIn(scheduledAt, timezone)} ${timezone}`;
  }
  const fields = cron.trim().split(/\s+/);
  const all = fields.length === 5 ? ['0', ...fields] : fields;
  if (all.length !== 6) return `cron ${cron} (${timezone})`;
  const [sec = '', min = '', hour = '', dom = '', mon = '', dow = ''] = all;
  const every = (field: string, unit: string) => {
    const step = /^(?:\*|0)\/(\d+)$/.exec(field);
    if (field === '*') return `every ${unit}`;
    return step ? `every ${step[1]} ${unit}s` : undefined;
  };
  const rest = dom === '*' && mon === '*' && dow === '*';
  if (rest && min === '*' && hour === '*') return `${every(sec, 'second') ?? cron} (${timezone})`;
  if (rest && sec === '0' && hour === '*') {
    const words = every(min, 'minute');
    if (words) return `${words} (${timezone})`;
    if (isNumber(min)) return `every hour at minute ${min} (${timezone})`;
  }
  if (isNumber(sec) && isNumber(min) && isNumber(hour) && mon === '*') {
    const time = `${pad(hour)}:${pad(min)}${sec === '0' ? '' : `:${pad(sec)}`}`;
    if (dom === '*' && dow === '*') return `every day at ${time} ${timezone}`;
    if (dom === '*' && isNumber(dow)) return `every ${DAYS[Number(dow) % 7]} at ${time} ${timezone}`;
    if (dom === '*' && dow === '1-5') return `every weekday at ${time} ${timezone}`;
    if (isNumber(dom) && dow === '*') return `on day ${dom} of every month at ${time} ${timezone}`;
  }
  return `cron ${cron} (${timezone})`;
}

/** An instant as wall time in a zone (the viewer's when none is given). */
export function formatIn(iso: string, timezone?: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: false,
  }).format(new Date(iso));
}

export function duration(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1_000)} s`;
}

/** The p-th percentile (0–100) of the values, nearest rank. */
export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? null;
}
