"""The same widgets in Panel apps: `to_panel` mirrors a twinlab widget as a `panel.custom.AnyWidgetComponent`.

The component runs the widget's own ES module (the same built file) under Panel's anywidget shim, and keeps its
state in step with the widget both ways: a value the page changes (a slider) is set on the widget, whose Python
reacts as in a notebook (the explorer re-simulates, compiled once), and what the widget then changes (the curve) is
sent back to the page. Custom messages from the page (the builder's "build") reach the widget's handlers. So
``pn.Row(tl.ui.to_panel(tl.ui.ParameterExplorer())).servable()`` serves the notebook's explorer as an app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anywidget

from twinlab.ui._builder import TwinBuilder
from twinlab.ui._explorer import MSG_NO_BUNDLE, STATIC, ParameterExplorer
from twinlab.ui._inspector import Inspector

if TYPE_CHECKING:
    import panel as pn
    import param

__all__ = ["to_panel"]

_BUNDLES = {ParameterExplorer: "explorer", Inspector: "inspector", TwinBuilder: "builder"}


def _synced(widget: anywidget.AnyWidget) -> list[str]:
    """The widget's own synchronised traits (not anywidget's or ipywidgets' bookkeeping, not the ESM)."""
    base = set(anywidget.AnyWidget.class_trait_names(sync=True))
    return sorted(n for n in widget.trait_names(sync=True) if n not in base and not n.startswith("_"))


def to_panel(widget: anywidget.AnyWidget, **params: Any) -> pn.custom.AnyWidgetComponent:
    """A Panel component showing ``widget`` with its own ES module, kept in step with it both ways.

    Args:
        widget: a `ParameterExplorer`, `Inspector` or `TwinBuilder`.
        params: Panel layout parameters for the component (``width``, ``height``, ``sizing_mode``, ...).

    Raises:
        TypeError: ``widget`` is not one of twinlab's widgets.
        FileNotFoundError: the widgets' JavaScript bundle was not built.
    """
    import panel as pn  # imported here: `tl.ui` in a notebook does not load Panel
    import param

    bundle = next((name for cls, name in _BUNDLES.items() if isinstance(widget, cls)), None)
    if bundle is None:
        kinds = ", ".join(cls.__name__ for cls in _BUNDLES)
        raise TypeError(
            f"to_panel takes one of twinlab's widgets ({kinds}); got {type(widget).__name__}. Fix: wrap one of those "
            "(other anywidgets: subclass panel.custom.AnyWidgetComponent with their ESM)"
        )
    names = _synced(widget)
    path = STATIC / f"{bundle}.js"
    if not path.is_file():
        raise FileNotFoundError(MSG_NO_BUNDLE.format(path=path))

    def handle_msg(self: Any, msg: Any) -> None:
        widget._handle_custom_msg(msg, [])  # the widget's on_msg handlers, as a notebook's comm would call them

    attrs: dict[str, Any] = {name: param.Parameter(default=None) for name in names}
    attrs.update(_esm=path, _handle_msg=handle_msg, __module__=__name__)
    component_cls = type(f"{type(widget).__name__}Panel", (pn.custom.AnyWidgetComponent,), attrs)
    component = component_cls(**{n: getattr(widget, n) for n in names}, **params)

    # Both directions end when values agree: param's watchers fire on a changed value only, traitlets' observers too.
    def to_widget(*events: param.parameterized.Event) -> None:
        with widget.hold_trait_notifications():
            for event in events:
                setattr(widget, event.name, event.new)

    def to_component(change: dict[str, Any]) -> None:
        component.param.update({change["name"]: change["new"]})

    component.param.watch(to_widget, names)
    widget.observe(to_component, names=names)
    component.widget = widget  # the Python object behind it, for code that reads results (builder.twin)
    return component
