"""twinlab.ui: anywidget widgets for JupyterLab (needs the ``dashboards`` extra): explorer and inspector.

Example:
    >>> import twinlab as tl                                                # doctest: +SKIP
    >>> tl.ui.ParameterExplorer("adult#001", ["Vmx", "kp2"])              # sliders, live glucose
    >>> tl.ui.Inspector(twin)                                             # parts, parameters with units, the gate
"""

from twinlab.ui._explorer import ParameterExplorer, parameter_spec
from twinlab.ui._inspector import Inspector, describe
from twinlab.ui._units import parameter_units

__all__ = ["Inspector", "ParameterExplorer", "describe", "parameter_spec", "parameter_units"]
