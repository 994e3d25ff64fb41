/** The label value every model name outside the configured set collapses into. */
export const OTHER_MODEL = 'other';

/**
 * Keeps the `model` label bounded: only ids from models.yaml (set on load and reload) become
 * label values, so a client sending random model names cannot grow the series count.
 */
export class ModelLabels {
  private known = new Set<string>();

  /** Replaces the configured set; returns the ids that are no longer configured. */
  set(ids: Iterable<string>): string[] {
    const next = new Set(ids);
    const removed = [...this.known].filter((id) => !next.has(id));
    this.known = next;
    return removed;
  }

  has(model: string): boolean {
    return this.known.has(model);
  }

  label(model: string | null | undefined): string {
    return model && this.known.has(model) ? model : OTHER_MODEL;
  }

  get ids(): string[] {
    return [...this.known];
  }
}
