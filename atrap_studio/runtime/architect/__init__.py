"""The NN Architect: structural changes to a training network and the filter that steers them."""
