"""Tensors a hot loop reuses from one call to the next instead of allocating them anew.

A fresh CPU tensor of a few hundred kilobytes or more is memory the allocator takes from the
system and hands back when it is freed, so each step pays its page faults again: at 1,024
arenas a 64-ray camera touched ~500 fresh pages a call, a third of its time. Only scratch
space lives here; what a caller keeps (a sensor's output) is never a workspace tensor.
"""

from __future__ import annotations

import torch
from torch import Tensor


class Workspace:
    """Named scratch tensors, made again only when a shape, dtype, device or mode changes."""

    def __init__(self) -> None:
        self._tensors: dict[str, Tensor] = {}

    def get(
        self,
        name: str,
        shape: tuple[int, ...],
        dtype: torch.dtype = torch.float32,
        device: torch.device | None = None,
    ) -> Tensor:
        """An uninitialised tensor for ``name``: the same memory as the last call when it fits.

        Tensors made under ``torch.inference_mode`` cannot be written outside it (nor the
        other way round for autograd), so a change of mode makes a new one.
        """
        device = torch.device("cpu") if device is None else device
        tensor = self._tensors.get(name)
        if (
            tensor is None
            or tensor.shape != shape
            or tensor.dtype != dtype
            or tensor.device != device
            or tensor.is_inference() != torch.is_inference_mode_enabled()
        ):
            tensor = torch.empty(shape, dtype=dtype, device=device)
            self._tensors[name] = tensor
        return tensor
