"""Run-time device selection shared by every baseline: ``auto`` | ``cpu`` | ``cuda``."""

from __future__ import annotations

import shutil
from pathlib import Path

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")


def cuda_available() -> bool:
    """True when an NVIDIA GPU is usable (torch's view when torch is installed)."""
    try:
        import torch
    except ImportError:
        return shutil.which("nvidia-smi") is not None and Path("/dev/nvidiactl").exists()
    return bool(torch.cuda.is_available())


def resolve_device(device: str = "auto") -> str:
    """Map ``auto`` to ``cuda`` when a GPU is present, else ``cpu``; refuse ``cuda`` without one."""
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    if device == "cpu":
        return "cpu"
    available = cuda_available()
    if device == "cuda" and not available:
        raise RuntimeError("device 'cuda' requested but no CUDA GPU is available; use --device cpu or auto")
    return "cuda" if available else "cpu"
