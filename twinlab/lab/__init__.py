"""twinlab in JupyterLab: the prebuilt lab extension's location and the server extension serving the templates.

``pip install "twinlab[lab]"`` installs the prebuilt JupyterLab extension (no ``jupyter lab build``): launcher cards
"New digital twin" (one per template in `templates`), a viewer for saved ``.twinlab`` files that reads them in the
browser, and the command "Open dashboard", which shows a notebook's or script's Panel dashboard in a tab through
Panel's server extension (``panel-preview/render/<path>``; needs the ``dashboards`` extra).

The server extension adds two read-only routes under the server's base URL:

* ``GET twinlab/templates``: ``{"templates": [{"name", "title", "description"}, ...]}``.
* ``GET twinlab/templates/<name>``: that template notebook (nbformat 4 JSON).

The teaching notebooks keep their exercises' solutions in cells tagged ``solution``; `write_student_copies` (or
``python -m twinlab.lab students notebooks/teaching DEST``) writes the copies a class gets, without them.

Example:
    >>> from twinlab import lab
    >>> [t.name for t in lab.templates()]
    ['glucose_patient_twin', 'traffic_twin']
"""

from twinlab.lab._teaching import SOLUTION_TAG, strip_solutions, write_student_copies
from twinlab.lab._templates import Template, template_notebook, templates

__all__ = ["SOLUTION_TAG", "Template", "strip_solutions", "template_notebook", "templates", "write_student_copies"]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "twinlab"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "twinlab.lab"}]


def _load_jupyter_server_extension(server_app: object) -> None:
    from twinlab.lab._server import load

    load(server_app)
