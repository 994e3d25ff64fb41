import type { ApiFailure } from './api-client';
import { ApiCallError } from './api-client';
import { describeFailure } from './errors';

type Child = Node | string | null | undefined | false;

/** Creates an element with attributes and children; text is always set as text, never parsed. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    el.setAttribute(name, value === true ? '' : value);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el as T;
}

export function failureOf(err: unknown): ApiFailure {
  if (err instanceof ApiCallError) return err.failure;
  return { status: 0, code: 'client_error', message: (err as Error)?.message ?? String(err) };
}

/** Renders a failure into an alert region: title, code, status, message, hint, request id. */
export function showFailure(region: HTMLElement, err: unknown): void {
  const v = describeFailure(failureOf(err));
  const parts: Array<HTMLElement | null> = [
    h(
      'p',
      { class: 'error-title' },
      h('strong', {}, v.title),
      ' ',
      h('code', { class: 'error-code' }, v.code),
      v.status ? ` (HTTP ${v.status})` : '',
    ),
    h('p', { class: 'error-message' }, v.message),
    v.hint ? h('p', { class: 'error-hint' }, v.hint) : null,
    v.requestId ? h('p', { class: 'error-request' }, 'Request id: ', h('code', {}, v.requestId)) : null,
  ];
  region.replaceChildren(...parts.filter((p): p is HTMLElement => p !== null));
  region.hidden = false;
}

export function clearFailure(region: HTMLElement): void {
  region.replaceChildren();
  region.hidden = true;
}

/** localStorage that never throws (private mode, disabled storage). */
export const store = {
  get(name: string): string {
    try {
      return localStorage.getItem(name) ?? '';
    } catch {
      return '';
    }
  },
  set(name: string, value: string): void {
    try {
      if (value) localStorage.setItem(name, value);
      else localStorage.removeItem(name);
    } catch {
      /* storage unavailable: the key lives for this page only */
    }
  },
};
