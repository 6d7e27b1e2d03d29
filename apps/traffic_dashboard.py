"""The traffic twin live: Los Angeles road speeds replayed into a graph-network twin, with what-ifs on the network.

Serve it with ``twinlab serve apps/traffic_dashboard.py`` (the data folder in ``TWINLAB_DATA_DIR``). With no twin
passed, a quick demo model is trained on a patch of 16 sensors at start-up (about half a minute on 2 cores).
"""

import twinlab as tl

tl.dash.traffic_dashboard().servable(title="twinlab: traffic twin")
