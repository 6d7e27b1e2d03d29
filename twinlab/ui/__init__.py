"""twinlab.ui: anywidget widgets for JupyterLab (needs the ``dashboards`` extra): explorer, inspector, builder.

Example:
    >>> import twinlab as tl                                                # doctest: +SKIP
    >>> tl.ui.ParameterExplorer("adult#001", ["Vmx", "kp2"])              # sliders, live glucose
    >>> tl.ui.Inspector(twin)                                             # parts, parameters with units, the gate
    >>> b = tl.ui.TwinBuilder(); b                                        # form; b.twin and b.code after "build"
    >>> b.policy, b.dose, b.learned                                       # the policy, its dose now, the hybrid's fit
    >>> tl.ui.to_panel(tl.ui.ParameterExplorer()).servable()             # the same widget in a Panel app
"""

from twinlab.ui._builder import TEMPLATES, TwinBuilder
from twinlab.ui._explorer import ParameterExplorer, parameter_spec
from twinlab.ui._inspector import Inspector, describe
from twinlab.ui._panel import to_panel
from twinlab.ui._units import parameter_units

__all__ = [
    "TEMPLATES",
    "Inspector",
    "ParameterExplorer",
    "TwinBuilder",
    "describe",
    "parameter_spec",
    "parameter_units",
    "to_panel",
]
