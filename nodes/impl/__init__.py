"""Node implementations, imported only when a run starts (they use torch).

Each class takes a :class:`~atrap_studio.runtime.context.NodeContext`; all but scenes and
networks have ``forward(inputs) -> outputs``, with inputs and outputs keyed by port name.
"""
