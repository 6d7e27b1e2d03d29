"""twinlab.ui: anywidget widgets for JupyterLab (and Panel): the parameter explorer (needs the ``dashboards`` extra).

Example:
    >>> import twinlab as tl                                                # doctest: +SKIP
    >>> tl.ui.ParameterExplorer("adult#001", ["Vmx", "kp2"])              # sliders, live glucose
"""

from twinlab.ui._explorer import PARAMETER_UNITS, ParameterExplorer, parameter_spec

__all__ = ["PARAMETER_UNITS", "ParameterExplorer", "parameter_spec"]
