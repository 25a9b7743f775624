"""The tank arena scene plug-in: tanks that learn to fight from one camera."""
