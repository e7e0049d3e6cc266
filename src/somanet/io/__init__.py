"""Layer 3, io: weights as safetensors files and resumable training checkpoints.

No pickle anywhere: weights and state arrays are safetensors, everything else
JSON, and every write is atomic (a temporary file, then a rename).

    >>> import os, tempfile, somanet as sn
    >>> from somanet import nn
    >>> model = nn.Linear(4, 2)
    >>> folder = tempfile.mkdtemp()
    >>> sn.io.save_weights(model, os.path.join(folder, "model.safetensors"))
    >>> sn.io.save_checkpoint(os.path.join(folder, "last"), model, epoch=1)
"""
from .atomic import atomic_write_bytes, atomic_write_text
from .checkpoint import is_checkpoint, load_checkpoint, save_checkpoint
from .folders import check_writable, remove_empty_folders
from .weights import load_weights, read_metadata, read_weights, save_weights

__all__ = ["atomic_write_bytes", "atomic_write_text", "check_writable", "is_checkpoint",
           "load_checkpoint", "load_weights", "read_metadata", "read_weights",
           "remove_empty_folders", "save_checkpoint", "save_weights"]
