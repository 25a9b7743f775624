"""A crowd of PCs training one network together, on the Flower federated-learning engine.

The aggregator is Flower's SuperLink with our ServerApp; each PC is a SuperNode running our
ClientApp, which trains the PC's own scene (its region of the world) and sends its network
back every round. Peers only dial out. Nothing here imports Qt.
"""
