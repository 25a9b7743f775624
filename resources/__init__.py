"""Resources shipped with the program: example graphs (found through importlib.resources)."""
