import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const CONFIG_DIR = join(__dirname, '../../../config');
export const DASHBOARD_DIR = join(CONFIG_DIR, 'grafana/dashboards');

export interface PanelQuery {
  dashboard: string;
  panel: string;
  datasourceUid: string;
  expr?: string;
  rawSql?: string;
  format?: string;
}

/** Every query of every panel (rows included) of every provisioned dashboard. */
export function dashboardQueries(): PanelQuery[] {
  const out: PanelQuery[] = [];
  for (const file of readdirSync(DASHBOARD_DIR).filter((f) => f.endsWith('.json'))) {
    const board = JSON.parse(readFileSync(join(DASHBOARD_DIR, file), 'utf8'));
    const panels = (board.panels as any[]).flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
    for (const p of panels) {
      for (const t of p.targets ?? []) {
        out.push({
          dashboard: board.uid,
          panel: p.title,
          datasourceUid: t.datasource?.uid ?? p.datasource?.uid,
          expr: t.expr,
          rawSql: t.rawSql,
          format: t.format,
        });
      }
    }
  }
  return out;
}

export function dashboards(): any[] {
  return readdirSync(DASHBOARD_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(DASHBOARD_DIR, f), 'utf8')));
}

/** Grafana's template variables replaced by values a plain PromQL parser accepts. */
export function concretePromql(expr: string): string {
  return expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '1m').replace(/\$model\b/g, '.*');
}

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

/**
 * Metric names a PromQL expression reads: identifiers that are not functions or aggregations
 * (followed by "("), keywords, label names (inside {...} or by/without/on/ignoring (...)),
 * strings, numbers or durations.
 */
export function promqlMetricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  const re = /[a-zA-Z_:][a-zA-Z0-9_:]*/g;
  for (let m = re.exec(stripped); m; m = re.exec(stripped)) {
    const word = m[0];
    const before = stripped[m.index - 1];
    if (before && /[0-9.]/.test(before)) continue; // part of a number like 1e-9
    const after = stripped.slice(m.index + word.length).trimStart();
    if (after.startsWith('(') || KEYWORDS.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names];
}

/** Grafana's PostgreSQL macros, expanded the way Grafana does, for a window ending now. */
export function concreteSql(sql: string, from: Date, to: Date): string {
  const f = `'${from.toISOString()}'`;
  const t = `'${to.toISOString()}'`;
  const out = sql
    .replace(
      /\$__timeGroupAlias\(\s*([^,]+?)\s*,\s*[^)]+\)/g,
      (_, col) => `floor(extract(epoch from ${col})/60)*60 AS "time"`,
    )
    .replace(/\$__timeGroup\(\s*([^,]+?)\s*,\s*[^)]+\)/g, (_, col) => `floor(extract(epoch from ${col})/60)*60`)
    .replace(/\$__timeFilter\(\s*([^)]+?)\s*\)/g, (_, col) => `${col} BETWEEN ${f} AND ${t}`)
    .replace(/\$__timeFrom\(\)/g, f)
    .replace(/\$__timeTo\(\)/g, t);
  if (/\$/.test(out)) throw new Error(`unexpanded Grafana macro or variable in: ${out}`);
  return out;
}
