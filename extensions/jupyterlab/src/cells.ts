/**
 * Code from twinlab's widgets into the notebook: a widget (the twin builder) asks for its code to become a new cell
 * by dispatching a bubbling, cancelable `twinlab:insert-cell` DOM event with `{ code }` from its own element. This
 * plugin inserts a code cell with that source below the cell whose output holds the widget, and cancels the event
 * so the widget knows it was done (outside JupyterLab nobody cancels it and the widget says to copy the code).
 * The same is a command, `twinlab:insert-cell` ({ code }): below the active cell of the current notebook.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

export const INSERT_EVENT = 'twinlab:insert-cell';
const INSERT_COMMAND = 'twinlab:insert-cell';

/** Insert a code cell holding `code` at `index` of `panel`'s notebook and make it the active cell. */
function insertCode(panel: NotebookPanel, index: number, code: string): void {
  const notebook = panel.content;
  const model = notebook.model;
  if (!model) {
    throw new Error('twinlab: the notebook has no model yet; insert the cell again once it has loaded');
  }
  model.sharedModel.insertCell(index, { cell_type: 'code', source: code });
  notebook.activeCellIndex = index;
}

function codeOf(detail: unknown): string | null {
  const code = (detail as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.trim() !== '' ? code : null;
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'twinlab:insert-cell',
  description: "Inserts a twinlab widget's code as a new notebook cell.",
  autoStart: true,
  requires: [INotebookTracker],
  activate: (app: JupyterFrontEnd, tracker: INotebookTracker) => {
    document.addEventListener(INSERT_EVENT, event => {
      const code = codeOf((event as CustomEvent).detail);
      const target = event.target as Node | null;
      if (code === null || target === null) {
        return;
      }
      const panel = tracker.find(p => p.node.contains(target));
      if (!panel) {
        return;
      }
      const cells = panel.content.widgets;
      const at = cells.findIndex(cell => cell.node.contains(target));
      insertCode(panel, at < 0 ? cells.length : at + 1, code);
      event.preventDefault();
    });

    app.commands.addCommand(INSERT_COMMAND, {
      label: 'Insert twinlab code as a cell',
      caption: 'Insert the given code as a new code cell below the active cell',
      isEnabled: args => codeOf(args) !== null && tracker.currentWidget !== null,
      execute: args => {
        const code = codeOf(args);
        const panel = tracker.currentWidget;
        if (code === null || panel === null) {
          throw new Error('twinlab:insert-cell needs { code: "..." } (not empty) and an open notebook');
        }
        insertCode(panel, panel.content.activeCellIndex + 1, code);
      }
    });
  }
};

export default plugin;
