"""The torch device a ``device`` parameter names."""

from __future__ import annotations

__all__ = ["resolve_device"]


def resolve_device(device: str) -> str:
    """``"auto"`` becomes CUDA when present, else CPU; a CUDA device on a machine without one is refused."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but CUDA is not available here; use device='auto' or 'cpu'.")
    return device
