"""The widgets inside Panel apps: `tl.ui.to_panel` mirrors each widget both ways and passes the builder's messages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import twinlab as tl

pn = pytest.importorskip("panel")


def test_a_page_change_resimulates_through_the_widget_without_retracing(bundle: Path) -> None:
    explorer = tl.ui.ParameterExplorer("adult#001", ["Vmx"], minutes=600)
    component = tl.ui.to_panel(explorer, width=700)
    assert isinstance(component, pn.custom.AnyWidgetComponent) and component.widget is explorer
    assert component.spec == explorer.spec and component.curve == explorer.curve and component.width == 700
    before = component.curve["bg_mg_dl"][-1]
    component.values = {"Vmx": explorer.values["Vmx"] * 2}  # what a slider on the page sends
    assert explorer.values["Vmx"] == component.values["Vmx"]
    assert component.curve == explorer.curve and component.curve["bg_mg_dl"][-1] < before - 10
    assert explorer.traces == 1 and component.traces == 1
    explorer.values = {"Vmx": explorer.values["Vmx"] / 2}  # and a change made in Python reaches the page
    assert np.isclose(component.curve["bg_mg_dl"][-1], before)


def test_the_builder_builds_from_the_page_message(bundle: Path) -> None:
    builder = tl.ui.TwinBuilder()
    component = tl.ui.to_panel(builder)
    component._handle_msg({"type": "build"})  # what Panel calls when the page's model.send({type: "build"}) arrives
    assert builder.twin is not None and component.status.startswith("built: twin of adult#001")
    assert component.code == builder.code and "tl.Twin.from_params" in component.code


def test_only_twinlab_widgets_are_taken() -> None:
    with pytest.raises(TypeError, match="one of twinlab's widgets"):
        tl.ui.to_panel(pn.widgets.FloatSlider())  # type: ignore[arg-type]
