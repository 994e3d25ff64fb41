import { ApiClient, apiBase } from './api-client';
import { initUsageRange, loadUsage } from './admin-usage';
import { byId, clearFailure, h, showFailure, store } from './dom';
import { formatInt, formatTime } from './format';

interface KeyRecord {
  id: string;
  label: string;
  role: 'admin' | 'user';
  key_prefix: string;
  status: 'active' | 'inactive' | 'revoked';
  active: boolean;
  quota_tokens: number | null;
  rpm: number | null;
  tpm: number | null;
  allowed_models: string[] | null;
  last_used_at: string | null;
}
type CreatedKey = KeyRecord & { key: string };

const KEY_STORAGE = 'llm-server.admin-key';

const keyInput = byId<HTMLInputElement>('admin-key');
const errorBox = byId<HTMLDivElement>('admin-error');
const status = byId<HTMLParagraphElement>('admin-status');
const body = byId<HTMLTableSectionElement>('keys-body');
const more = byId<HTMLButtonElement>('keys-more');
const filter = byId<HTMLSelectElement>('keys-filter');
const newKey = byId<HTMLElement>('new-key');
const newKeyValue = byId<HTMLInputElement>('new-key-value');
const createForm = byId<HTMLFormElement>('create-form');

const client = new ApiClient(apiBase(location.href), () => keyInput.value);
let nextCursor: string | null = null;

const limitText = (v: number | null) => (v === null ? 'default' : formatInt(v));

/** Runs an admin action, showing its failure readably (and clearing the previous one). */
async function guarded(what: string, fn: () => Promise<void>): Promise<boolean> {
  clearFailure(errorBox);
  status.textContent = `${what}…`;
  try {
    await fn();
    return true;
  } catch (err) {
    status.textContent = '';
    showFailure(errorBox, err);
    return false;
  }
}

function row(k: KeyRecord): HTMLTableRowElement {
  const actions: HTMLElement[] = [];
  if (k.status !== 'revoked') {
    actions.push(
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          'data-action': k.active ? 'deactivate' : 'activate',
          'aria-label': `${k.active ? 'Deactivate' : 'Activate'} ${k.label}`,
        },
        k.active ? 'Deactivate' : 'Activate',
      ),
      h(
        'button',
        { type: 'button', class: 'secondary', 'data-action': 'rotate', 'aria-label': `Rotate ${k.label}` },
        'Rotate',
      ),
      h(
        'button',
        { type: 'button', class: 'danger', 'data-action': 'revoke', 'aria-label': `Revoke ${k.label}` },
        'Revoke',
      ),
    );
  }
  const tr = h(
    'tr',
    { 'data-key-id': k.id, 'data-status': k.status },
    h('td', {}, k.label),
    h('td', {}, h('code', {}, `${k.key_prefix}…`)),
    h('td', {}, k.role),
    h('td', {}, h('span', { class: `badge badge-${k.status}` }, k.status)),
    h('td', {}, `${limitText(k.rpm)} / ${limitText(k.tpm)} / ${limitText(k.quota_tokens)}`),
    h('td', {}, formatTime(k.last_used_at)),
    h('td', { class: 'actions' }, ...actions),
  );
  tr.addEventListener('click', (e) => {
    const action = (e.target as HTMLElement).closest('button')?.dataset.action;
    if (action) void act(k, action);
  });
  return tr;
}

async function loadKeys(append = false): Promise<boolean> {
  return guarded('Loading keys', async () => {
    const q = new URLSearchParams({ limit: '50' });
    if (filter.value) q.set('active', filter.value);
    if (append && nextCursor) q.set('cursor', nextCursor);
    const page = await client.json<{ data: KeyRecord[]; next_cursor: string | null }>('GET', `admin/keys?${q}`);
    const rows = page.data.map(row);
    if (append) body.append(...rows);
    else body.replaceChildren(...rows);
    nextCursor = page.next_cursor;
    more.hidden = !nextCursor;
    status.textContent = `${body.rows.length} key${body.rows.length === 1 ? '' : 's'} shown`;
  });
}

function revealKey(created: CreatedKey, verb: string): void {
  byId('new-key-for').textContent = `${verb} "${created.label}" (${created.role}, prefix ${created.key_prefix})`;
  newKeyValue.value = created.key;
  newKey.hidden = false;
  newKey.focus();
  newKeyValue.select();
}

function forgetRevealedKey(): void {
  newKeyValue.value = '';
  newKey.hidden = true;
}

async function act(k: KeyRecord, action: string): Promise<void> {
  if (action === 'revoke' && !confirm(`Revoke "${k.label}"? It will never work again.`)) return;
  await guarded(`${action} ${k.label}`, async () => {
    const path = `admin/keys/${encodeURIComponent(k.id)}`;
    if (action === 'deactivate' || action === 'activate')
      await client.json('PATCH', path, { active: action === 'activate' });
    if (action === 'revoke') await client.json('DELETE', path);
    if (action === 'rotate') revealKey(await client.json<CreatedKey>('POST', `${path}/rotate`), 'Rotated');
    await loadKeys();
  });
}

function optionalInt(id: string): number | undefined {
  const v = byId<HTMLInputElement>(id).value.trim();
  return v === '' ? undefined : Number(v);
}

async function create(): Promise<void> {
  await guarded('Creating the key', async () => {
    const models = byId<HTMLInputElement>('create-models')
      .value.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const payload: Record<string, unknown> = {
      label: byId<HTMLInputElement>('create-label').value.trim(),
      role: byId<HTMLSelectElement>('create-role').value,
      rpm: optionalInt('create-rpm'),
      tpm: optionalInt('create-tpm'),
      quota_tokens: optionalInt('create-quota'),
      allowed_models: models.length ? models : undefined,
    };
    const created = await client.json<CreatedKey>('POST', 'admin/keys', payload);
    createForm.reset();
    revealKey(created, 'Created');
    await loadKeys();
  });
}

async function refreshUsage(): Promise<void> {
  if (await guarded('Loading usage', () => loadUsage(client))) status.textContent = 'Usage loaded';
}

async function loadAll(): Promise<void> {
  // Nothing of what another key saw stays on the page.
  forgetRevealedKey();
  body.replaceChildren();
  more.hidden = true;
  byId('chart-model').replaceChildren();
  byId('chart-key').replaceChildren();
  if (!(await loadKeys())) return;
  const shown = status.textContent;
  if (await guarded('Loading usage', () => loadUsage(client))) status.textContent = shown;
}

keyInput.value = store.get(KEY_STORAGE) || store.get('llm-server.api-key');
keyInput.addEventListener('change', () => {
  store.set(KEY_STORAGE, keyInput.value.trim());
  void loadAll();
});
byId('admin-load').addEventListener('click', () => {
  store.set(KEY_STORAGE, keyInput.value.trim());
  void loadAll();
});
byId('admin-forget').addEventListener('click', () => {
  keyInput.value = '';
  store.set(KEY_STORAGE, '');
  body.replaceChildren();
  byId('chart-model').replaceChildren();
  byId('chart-key').replaceChildren();
});
byId('keys-refresh').addEventListener('click', () => void loadKeys());
filter.addEventListener('change', () => void loadKeys());
more.addEventListener('click', () => void loadKeys(true));
createForm.addEventListener('submit', (e) => {
  e.preventDefault();
  void create();
});
byId('new-key-copy').addEventListener('click', async () => {
  newKeyValue.select();
  try {
    await navigator.clipboard.writeText(newKeyValue.value);
    status.textContent = 'Copied to the clipboard';
  } catch {
    status.textContent = 'Select the key and copy it (the clipboard is not available here)';
  }
});
byId('new-key-done').addEventListener('click', forgetRevealedKey);
byId('usage-refresh').addEventListener('click', () => void refreshUsage());
byId('usage-metric').addEventListener('change', () => void refreshUsage());

initUsageRange();
if (keyInput.value) void loadAll();
