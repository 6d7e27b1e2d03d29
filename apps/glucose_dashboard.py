"""The flagship dashboard: a glucose twin kept current on a replayed day, what-if controls, the 30-patient view.

Serve it with ``twinlab serve apps/glucose_dashboard.py`` (``./scripts/demo.sh`` does so after the demo).
"""

import twinlab as tl

tl.dash.dashboard().servable(title="twinlab: glucose twin")
