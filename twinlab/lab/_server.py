"""The Jupyter server extension: read-only routes serving the template notebooks to the lab extension."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from twinlab.lab._templates import template_notebook, templates


class TemplatesHandler(APIHandler):
    """``GET twinlab/templates`` lists the templates; ``GET twinlab/templates/<name>`` returns one notebook."""

    @web.authenticated
    def get(self, name: str = "") -> None:
        """Write the list, or the notebook named ``name`` (404 when there is none)."""
        if not name:
            self.finish(json.dumps({"templates": [asdict(t) for t in templates()]}))
            return
        try:
            notebook = template_notebook(name)
        except KeyError as err:
            raise web.HTTPError(404, str(err)) from err
        self.finish(json.dumps(notebook))


def load(server_app: Any) -> None:
    """Add the routes to a running Jupyter server (called by `twinlab.lab._load_jupyter_server_extension`)."""
    web_app = server_app.web_app
    base = url_path_join(web_app.settings["base_url"], "twinlab", "templates")
    web_app.add_handlers(".*$", [(base + r"/?", TemplatesHandler), (base + r"/([A-Za-z0-9_\-]+)", TemplatesHandler)])
    server_app.log.info("twinlab: template notebooks served at %s", base)
