"""The live views of a run, each a dock of the editor fed by the runtime's events: the scene,
the network's neurons and the curves. They draw snapshots; they never step the simulation."""
