"""The desktop editor (Qt): the main window, the node canvas and its docks.

Importing this package selects PySide6 for the Qt shims that NodeGraphQt (Qt.py) and
pyqtgraph use, before either is imported, so they can never pick another binding by accident.
"""

import os

os.environ.setdefault("QT_PREFERRED_BINDING", "PySide6")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
