"""Runtime tests run torch on one thread: small networks are fastest so, and results repeat."""

from __future__ import annotations

import torch

torch.set_num_threads(1)
