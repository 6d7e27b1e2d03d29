/**
 * twinlab's JupyterLab plugin: launcher cards that create a twin notebook from the templates shipped in the Python
 * package (served by twinlab's server extension at `twinlab/templates`), and a command that opens a notebook's or a
 * script's Panel dashboard in a tab (through Panel's server extension at `panel-preview/render/<path>`); and (in
 * `cells.ts`) the twin builder's code inserted as a notebook cell.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, IFrame, MainAreaWidget } from '@jupyterlab/apputils';
import { PageConfig, PathExt, URLExt } from '@jupyterlab/coreutils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';
import { ServerConnection } from '@jupyterlab/services';

import insertCellPlugin from './cells';

/** One template notebook, as the server extension lists it. */
interface ITemplate {
  name: string;
  title: string;
  description: string;
}

const NEW_TWIN = 'twinlab:new-twin';
const OPEN_DASHBOARD = 'twinlab:open-dashboard';
const CATEGORY = 'New digital twin';

async function requestJSON(path: string): Promise<any> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'twinlab', 'templates', path);
  const response = await ServerConnection.makeRequest(url, {}, settings);
  if (!response.ok) {
    throw new ServerConnection.ResponseError(response, `twinlab templates: ${response.status} for ${url}`);
  }
  return response.json();
}

/** The first `stem.ipynb`, `stem-1.ipynb`, ... that does not exist in `dir` (read from its listing, so that no
 * request for a missing file shows up as an error in the console). */
async function freeNotebookPath(app: JupyterFrontEnd, dir: string, stem: string): Promise<string> {
  const listing = await app.serviceManager.contents.get(dir, { content: true, type: 'directory' });
  const taken = new Set((listing.content as { name: string }[]).map(item => item.name));
  for (let i = 0; i < 10000; i++) {
    const name = i ? `${stem}-${i}.ipynb` : `${stem}.ipynb`;
    if (!taken.has(name)) {
      return PathExt.join(dir, name);
    }
  }
  throw new Error(`no free name for ${stem}.ipynb in ${dir || 'the root folder'}`);
}

/** The path of the notebook or script a dashboard command acts on: its argument, the current document, or the
 * file selected in the file browser. */
function dashboardPath(
  app: JupyterFrontEnd,
  args: Record<string, unknown>,
  docManager: IDocumentManager | null,
  browser: IDefaultFileBrowser | null
): string | null {
  if (typeof args['path'] === 'string') {
    return args['path'];
  }
  const widget = app.shell.currentWidget;
  const context = widget && docManager ? docManager.contextForWidget(widget) : undefined;
  if (context) {
    return context.path;
  }
  const selected = browser?.selectedItems().next();
  return selected && !selected.done ? selected.value.path : null;
}

function isDashboardSource(path: string | null): boolean {
  return path !== null && /\.(ipynb|py)$/.test(path);
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'twinlab:plugin',
  description: 'New-twin launcher cards and dashboards in a tab.',
  autoStart: true,
  optional: [ILauncher, ICommandPalette, IDocumentManager, IDefaultFileBrowser],
  activate: async (
    app: JupyterFrontEnd,
    launcher: ILauncher | null,
    palette: ICommandPalette | null,
    docManager: IDocumentManager | null,
    browser: IDefaultFileBrowser | null
  ) => {
    console.log('twinlab extension activated');

    app.commands.addCommand(OPEN_DASHBOARD, {
      label: args => (args['path'] ? `Open dashboard of ${PathExt.basename(String(args['path']))}` : 'Open dashboard'),
      caption: "Show the notebook's or script's Panel dashboard in a tab (its .servable() parts)",
      isEnabled: args => isDashboardSource(dashboardPath(app, args, docManager, browser)),
      execute: args => {
        const path = dashboardPath(app, args, docManager, browser);
        if (!isDashboardSource(path)) {
          throw new Error('Open dashboard needs a notebook (.ipynb) or a Python script (.py).');
        }
        const frame = new IFrame({
          sandbox: ['allow-scripts', 'allow-same-origin', 'allow-forms', 'allow-popups', 'allow-downloads']
        });
        frame.url = URLExt.join(PageConfig.getBaseUrl(), 'panel-preview', 'render', URLExt.encodeParts(path!));
        const widget = new MainAreaWidget({ content: frame });
        widget.id = `twinlab-dashboard-${Date.now()}`;
        widget.title.label = `Dashboard: ${PathExt.basename(path!)}`;
        widget.title.closable = true;
        widget.addClass('jp-twinlab-dashboard');
        app.shell.add(widget, 'main', { mode: 'split-right' });
        return widget;
      }
    });
    for (const type of ['notebook', 'python']) {
      app.contextMenu.addItem({
        command: OPEN_DASHBOARD,
        selector: `.jp-DirListing-item[data-file-type="${type}"]`,
        rank: 10
      });
    }
    palette?.addItem({ command: OPEN_DASHBOARD, category: 'twinlab' });

    app.commands.addCommand(NEW_TWIN, {
      label: args => String(args['title'] ?? 'New digital twin'),
      caption: args => String(args['description'] ?? 'Create a notebook from a twinlab template'),
      execute: async args => {
        const name = String(args['template']);
        const notebook = await requestJSON(encodeURIComponent(name));
        const dir = typeof args['cwd'] === 'string' ? args['cwd'] : (browser?.model.path ?? '');
        const path = await freeNotebookPath(app, dir, name);
        await app.serviceManager.contents.save(path, { type: 'notebook', format: 'json', content: notebook });
        return app.commands.execute('docmanager:open', { path, factory: 'Notebook' });
      }
    });

    let templates: ITemplate[];
    try {
      templates = (await requestJSON('')).templates;
    } catch (err) {
      console.warn('twinlab: the server extension is not enabled, so there are no template cards', err);
      return;
    }
    templates.forEach((t, rank) => {
      const args = { template: t.name, title: t.title, description: t.description };
      launcher?.add({ command: NEW_TWIN, args, category: CATEGORY, rank });
      palette?.addItem({ command: NEW_TWIN, args, category: 'twinlab' });
    });
  }
};

export default [plugin, insertCellPlugin];
