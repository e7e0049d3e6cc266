"""Layer 3, io: weights as safetensors files and resumable training checkpoints.

No pickle anywhere: weights and state arrays are safetensors, everything else
JSON, and every write is atomic (a temporary file, then a rename). Every function
takes the file or folder first, then the model (and what else is saved with it);
the other order is a TypeError saying which argument is which. PyTorch
``state_dict`` files load with ``load_weights(path, model, layout="torch")``
(``somanet.io.layouts``). TensorBoard event files are written and read by
``somanet.io.events``.

    >>> import os, tempfile, somanet as sn
    >>> from somanet import nn
    >>> model = nn.Linear(4, 2)
    >>> folder = tempfile.mkdtemp()
    >>> sn.io.save_weights(os.path.join(folder, "model.safetensors"), model)
    >>> sn.io.save_checkpoint(os.path.join(folder, "last"), model, epoch=1)
"""
from .atomic import atomic_write_bytes, atomic_write_text, remove_orphans
from .checkpoint import (clean_checkpoint_folder, is_checkpoint, load_checkpoint,
                         save_checkpoint)
from . import events, layouts
from .folders import FolderLockedError, check_writable, lock_folder, remove_empty_folders
from .weights import load_weights, read_header, read_metadata, read_weights, save_weights

__all__ = ["FolderLockedError", "atomic_write_bytes", "atomic_write_text", "check_writable",
           "clean_checkpoint_folder", "is_checkpoint", "load_checkpoint", "load_weights",
           "lock_folder", "read_header", "read_metadata", "read_weights", "remove_empty_folders",
           "remove_orphans", "save_checkpoint", "save_weights"]
