/**
 * The viewer for saved twins: a file type (`.twinlab`) and a MIME type of our own, rendered in the browser from the
 * file's safetensors header and tensors. No kernel is started and nothing in the file is executed.
 */
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';

import { base64ToBytes, ITwinFile, parseTwinFile, tensorValues, TwinFileError } from './twinfile';

/** The MIME type of a saved twin (the file's bytes, base64-encoded). */
export const MIME_TYPE = 'application/vnd.twinlab.twin';

/** The JupyterLab file type of saved twins. */
export const FILE_TYPE = 'twinlab';

type Spec = null | boolean | number | string | { [key: string]: unknown };

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  className?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) {
    node.textContent = text;
  }
  if (className) {
    node.className = className;
  }
  return node;
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) {
    return String(x);
  }
  if (x !== 0 && (Math.abs(x) < 1e-3 || Math.abs(x) >= 1e5)) {
    return x.toExponential(3);
  }
  return String(Number(x.toPrecision(4)));
}

function isObject(node: unknown): node is Record<string, unknown> {
  return typeof node === 'object' && node !== null && !Array.isArray(node);
}

/** The type name of a registered-type node, or null. */
function typeName(node: unknown): string | null {
  return isObject(node) && typeof node['__type__'] === 'string' ? (node['__type__'] as string) : null;
}

/** The named children of a node (the fields of a type, the keys of a dict, the items of a list), or null. */
function children(node: unknown): [string, unknown][] | null {
  if (!isObject(node)) {
    return null;
  }
  if (typeName(node) !== null) {
    return children(node['data']) ?? [['data', node['data']]];
  }
  if (isObject(node['__dict__'])) {
    return Object.entries(node['__dict__'] as Record<string, unknown>);
  }
  const items = node['__list__'] ?? node['__tuple__'];
  if (Array.isArray(items)) {
    return items.map((v, i) => [String(i), v]);
  }
  return null;
}

/** A one-line description of a node: a value, an array's values or summary, or what a part is. */
function describe(file: ITwinFile, node: unknown): string {
  if (node === null) {
    return 'none';
  }
  if (typeof node === 'string') {
    return node === '' ? '""' : node;
  }
  if (typeof node !== 'object') {
    return String(node);
  }
  const rec = node as Record<string, unknown>;
  const type = typeName(node);
  if (type !== null) {
    const n = children(node)?.length ?? 0;
    return `${type} (${n} field${n === 1 ? '' : 's'})`;
  }
  if (typeof rec['__array__'] === 'string') {
    const key = rec['__array__'] as string;
    const shape = (rec['shape'] as number[]) ?? [];
    const info = file.tensors[key];
    const dtype = info ? info.dtype.toLowerCase() : '?';
    const size = shape.reduce((a, b) => a * b, 1);
    const values = tensorValues(file, key, size <= 8 ? size : Infinity);
    if (values === null) {
      return `array ${JSON.stringify(shape)} ${dtype}`;
    }
    if (shape.length === 0) {
      return fmt(values[0]);
    }
    if (size <= 8) {
      return `[${values.map(fmt).join(', ')}]`;
    }
    const finite = values.filter(Number.isFinite);
    const mean = finite.reduce((a, b) => a + b, 0) / Math.max(finite.length, 1);
    const stats = finite.length
      ? `: min ${fmt(Math.min(...finite))}, mean ${fmt(mean)}, max ${fmt(Math.max(...finite))}`
      : '';
    return `array (${shape.join(' × ')}) ${dtype}${stats}`;
  }
  if (typeof rec['__float__'] === 'string') {
    return rec['__float__'] as string;
  }
  const kids = children(node);
  if (kids !== null) {
    const kind = '__dict__' in rec ? 'mapping' : '__list__' in rec ? 'list' : 'tuple';
    return `${kind} of ${kids.length}`;
  }
  return JSON.stringify(node).slice(0, 80);
}

/** A two-column table (name, description) of a node's children. */
function fieldTable(file: ITwinFile, rows: [string, unknown][], className: string): HTMLTableElement {
  const table = el('table', undefined, className);
  const body = el('tbody');
  for (const [name, value] of rows) {
    const tr = el('tr');
    tr.appendChild(el('th', name));
    tr.appendChild(el('td', describe(file, value)));
    tr.dataset.field = name;
    body.appendChild(tr);
  }
  table.appendChild(body);
  return table;
}

/** Every node of the given type in the tree, with its path. */
function findTyped(node: unknown, type: string, path = ''): [string, unknown][] {
  const found: [string, unknown][] = typeName(node) === type ? [[path, node]] : [];
  for (const [name, child] of children(node) ?? []) {
    found.push(...findTyped(child, type, path ? `${path}.${name}` : name));
  }
  return found;
}

/** The contents of a part, nested parts folded. */
function partDetails(file: ITwinFile, name: string, node: unknown, depth: number): HTMLElement {
  const details = el('details', undefined, 'jp-twinlab-part');
  details.dataset.part = name;
  details.appendChild(el('summary', `${name}: ${describe(file, node)}`));
  const kids = children(node) ?? [];
  const leaves = kids.filter(([, v]) => children(v) === null);
  if (leaves.length) {
    details.appendChild(fieldTable(file, leaves, 'jp-twinlab-fields'));
  }
  if (depth < 6) {
    for (const [childName, child] of kids) {
      if (children(child) !== null) {
        details.appendChild(partDetails(file, childName, child, depth + 1));
      }
    }
  }
  return details;
}

function quantile(sorted: number[], q: number): number {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

/** A posterior's personalised parameters: median and 90% interval over its draws (theta holds their logarithms,
 * then the initial glucose, shape (chains, draws, k + 1 + M)). */
function posteriorSummary(file: ITwinFile, path: string, node: unknown, host: HTMLElement): void {
  const fields = new Map(children(node) ?? []);
  const prior = new Map(children(fields.get('prior')) ?? []);
  const names = (children(prior.get('names')) ?? []).map(([, v]) => String(v));
  const theta = fields.get('theta') as Record<string, unknown> | undefined;
  const method = String(fields.get('method') ?? '');
  if (!names.length) {
    host.appendChild(el('p', `Not personalised (${path}, method "${method}"): the parameters are fixed.`, 'jp-twinlab-free'));
    return;
  }
  host.appendChild(el('h3', `Personalised parameters (${path}, method "${method}")`));
  const shape = (theta?.['shape'] as number[]) ?? [];
  const values = typeof theta?.['__array__'] === 'string' ? tensorValues(file, theta['__array__'] as string) : null;
  const table = el('table', undefined, 'jp-twinlab-posterior');
  const head = el('tr');
  for (const h of ['parameter', 'median', '90% interval', 'draws']) {
    head.appendChild(el('th', h));
  }
  table.appendChild(head);
  const width = shape[shape.length - 1] ?? 0;
  const columns: [string, (x: number) => number][] = names.map(n => [n, Math.exp]);
  columns.push(['bg0_mg_dl', x => x]);
  columns.forEach(([name, transform], i) => {
    const tr = el('tr');
    tr.dataset.field = name;
    tr.appendChild(el('th', name));
    if (values === null || i >= width) {
      tr.appendChild(el('td', 'not readable'));
    } else {
      const draws: number[] = [];
      for (let j = i; j < values.length; j += width) {
        draws.push(transform(values[j]));
      }
      draws.sort((a, b) => a - b);
      tr.appendChild(el('td', fmt(quantile(draws, 0.5))));
      tr.appendChild(el('td', `${fmt(quantile(draws, 0.05))} – ${fmt(quantile(draws, 0.95))}`));
      tr.appendChild(el('td', String(draws.length)));
    }
    table.appendChild(tr);
  });
  host.appendChild(table);
}

/** The whole view of one parsed file. */
export function renderTwin(file: ITwinFile, host: HTMLElement): void {
  const top = file.spec as Spec;
  const type = typeName(top);
  const fields = children(top) ?? [];
  const name = fields.find(([k]) => k === 'name')?.[1];
  const title =
    type === 'Twin' ? `Twin${typeof name === 'string' && name ? ` of ${name}` : ''}` : `Saved ${type ?? 'object'}`;
  host.appendChild(el('h2', title, 'jp-twinlab-title'));
  const nArrays = Object.keys(file.tensors).length;
  host.appendChild(
    el(
      'p',
      `twinlab file, format version ${file.formatVersion}; ${nArrays} arrays, ${fmt(file.nBytes / 1024)} KiB.`,
      'jp-twinlab-summary'
    )
  );

  const params = findTyped(top, 'glucose.PatientParams');
  if (params.length) {
    host.appendChild(el('h3', params.length > 1 ? 'Parameter sets' : 'Parameters'));
    for (const [path, node] of params) {
      host.appendChild(el('p', path || 'parameters', 'jp-twinlab-path'));
      host.appendChild(fieldTable(file, children(node) ?? [], 'jp-twinlab-params'));
    }
  }
  for (const [path, node] of findTyped(top, 'bayes.Posterior')) {
    posteriorSummary(file, path, node, host);
  }

  host.appendChild(el('h3', 'Parts'));
  host.appendChild(fieldTable(file, fields, 'jp-twinlab-parts'));
  for (const [partName, child] of fields) {
    if (children(child) !== null) {
      host.appendChild(partDetails(file, partName, child, 1));
    }
  }
}

/** Renders `application/vnd.twinlab.twin` (a base64 string of the file's bytes). */
export class TwinRenderer extends Widget implements IRenderMime.IRenderer {
  constructor(options: IRenderMime.IRendererOptions) {
    super();
    this._mimeType = options.mimeType;
    this.addClass('jp-twinlab-viewer');
  }

  renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const data = model.data[this._mimeType] as string;
    this.node.textContent = '';
    try {
      renderTwin(parseTwinFile(base64ToBytes(data)), this.node);
    } catch (err) {
      const why = err instanceof TwinFileError ? err.message : String(err);
      this.node.appendChild(
        el('p', `Not a readable twinlab file (${why}). Save twins with tl.Twin.save or twinlab.io.save.`, 'jp-twinlab-error')
      );
    }
    return Promise.resolve();
  }

  private _mimeType: string;
}

/** The renderer factory for saved twins. */
export const rendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [MIME_TYPE],
  createRenderer: options => new TwinRenderer(options)
};

const extension: IRenderMime.IExtension = {
  id: 'twinlab:twin-viewer',
  description: 'Shows a saved twin (.twinlab): its parts and parameters, read in the browser.',
  rendererFactory,
  rank: 0,
  dataType: 'string',
  fileTypes: [
    {
      name: FILE_TYPE,
      displayName: 'twinlab twin',
      mimeTypes: [MIME_TYPE],
      extensions: ['.twinlab'],
      fileFormat: 'base64'
    }
  ],
  documentWidgetFactoryOptions: {
    name: 'twinlab twin viewer',
    modelName: 'base64',
    primaryFileType: FILE_TYPE,
    fileTypes: [FILE_TYPE],
    defaultFor: [FILE_TYPE]
  }
};

export default extension;
