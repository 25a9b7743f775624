"""The desktop editor (Qt): the main window, the node canvas and its docks.

Importing this package selects PySide6 for the Qt shims that NodeGraphQt (Qt.py) and
pyqtgraph use, before either is imported, so they can never pick another binding by accident,
and keeps Mesa's software renderer to one thread.
"""

import os

os.environ.setdefault("QT_PREFERRED_BINDING", "PySide6")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
# Mesa's software renderer (llvmpipe, used where there is no GPU) rasterises on one thread per
# core by default, taking CPU from training while the 3-D views draw; one thread is enough for
# views that budget their frames (docs/benchmarks.md).
os.environ.setdefault("LP_NUM_THREADS", "1")
