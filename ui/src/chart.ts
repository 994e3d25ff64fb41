import { formatInt } from './format';

export interface Bar {
  label: string;
  value: number;
  /** Extra text for the bar's tooltip. */
  detail?: string;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeXml = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]);

/**
 * A horizontal bar chart as SVG markup: one row per bar, largest first, labels on the left and
 * the value at the end of the bar. Accessible: `role="img"` with a title and a description that
 * reads out every value. No inline styles (the UI's CSP forbids them): colours come from classes.
 */
export function barChartSvg(bars: Bar[], opts: { id: string; title: string; unit: string; width?: number }): string {
  const rows = [...bars].filter((b) => Number.isFinite(b.value)).sort((a, b) => b.value - a.value);
  const width = opts.width ?? 560;
  const rowHeight = 26;
  const labelWidth = 170;
  const valueWidth = 110;
  const height = Math.max(1, rows.length) * rowHeight + 8;
  const max = Math.max(1, ...rows.map((r) => r.value));
  const barSpace = width - labelWidth - valueWidth;
  const desc = rows.length
    ? rows.map((r) => `${r.label}: ${formatInt(r.value)} ${opts.unit}`).join('; ')
    : 'no data in this range';
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" aria-labelledby="${opts.id}-title ${opts.id}-desc">`,
    `<title id="${opts.id}-title">${escapeXml(opts.title)}</title>`,
    `<desc id="${opts.id}-desc">${escapeXml(desc)}</desc>`,
  ];
  if (!rows.length) {
    parts.push(`<text class="chart-empty" x="8" y="20">No usage in this range</text>`);
  }
  rows.forEach((r, i) => {
    const y = i * rowHeight + 4;
    const w = Math.max(r.value > 0 ? 2 : 0, Math.round((r.value / max) * barSpace));
    const label = r.label.length > 24 ? `${r.label.slice(0, 23)}…` : r.label;
    const tip = `${r.label}: ${formatInt(r.value)} ${opts.unit}${r.detail ? ` (${r.detail})` : ''}`;
    parts.push(
      `<g class="chart-row"><title>${escapeXml(tip)}</title>`,
      `<text class="chart-label" x="${labelWidth - 8}" y="${y + 16}" text-anchor="end">${escapeXml(label)}</text>`,
      `<rect class="chart-bar" x="${labelWidth}" y="${y + 3}" width="${w}" height="${rowHeight - 8}" rx="3"></rect>`,
      `<text class="chart-value" x="${labelWidth + w + 6}" y="${y + 16}">${escapeXml(formatInt(r.value))}</text></g>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}
