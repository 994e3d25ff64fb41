import type { RawModel } from './models-config.schema';

/** One thing wrong in models.yaml, named by model and field where it can be. */
export interface ConfigIssue {
  model?: string;
  field?: string;
  message: string;
}

/** Duplicate names, unknown or cyclic fallbacks, an unknown default: what zod cannot see. */
export function crossCheck(defaultModel: string, models: RawModel[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const owner = new Map<string, string>();
  for (const m of models) {
    for (const [name, field] of [[m.id, 'id'], ...(m.aliases ?? []).map((a) => [a, 'aliases'])]) {
      const prior = owner.get(name);
      if (prior !== undefined) {
        issues.push({ model: m.id, field, message: `"${name}" is already used by model "${prior}"` });
      } else owner.set(name, m.id);
    }
  }
  const ids = new Set(models.map((m) => m.id));
  for (const m of models) {
    for (const f of m.fallbacks ?? []) {
      if (f === m.id) issues.push({ model: m.id, field: 'fallbacks', message: 'a model cannot fall back to itself' });
      else if (!ids.has(f)) issues.push({ model: m.id, field: 'fallbacks', message: `unknown model "${f}"` });
    }
  }
  if (issues.length === 0) {
    const cycle = findCycle(models);
    if (cycle) issues.push({ model: cycle[0], field: 'fallbacks', message: `fallback cycle: ${cycle.join(' -> ')}` });
  }
  if (!ids.has(defaultModel)) {
    issues.push({
      field: 'default_model',
      message: `unknown model "${defaultModel}" (models: ${[...ids].join(', ')})`,
    });
  }
  return issues;
}

function findCycle(models: RawModel[]): string[] | undefined {
  const edges = new Map(models.map((m) => [m.id, m.fallbacks ?? []]));
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') return [...stack.slice(stack.indexOf(id)), id];
    state.set(id, 'visiting');
    stack.push(id);
    for (const next of edges.get(id) ?? []) {
      const found = visit(next);
      if (found) return found;
    }
    stack.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const m of models) {
    const found = visit(m.id);
    if (found) return found;
  }
  return undefined;
}
