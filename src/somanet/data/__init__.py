"""Layer 3, data: datasets, samplers and the DataLoader (dataset -> sampler -> collate).

    >>> import numpy as np
    >>> from somanet.data import DataLoader, TensorDataset
    >>> x, y = np.random.rand(100, 4).astype("float32"), np.arange(100) % 3
    >>> loader = DataLoader(TensorDataset(x, y, num_classes=3), batch_size=32, shuffle=True,
    ...                     seed=0)
    >>> len(loader), [tuple(xb.shape) for xb, yb in loader][-1]
    (4, (4, 4))

The bundled and downloadable datasets live in ``somanet.data.datasets``, also
reachable as ``somanet.datasets``.
"""
from .dataset import (Dataset, MemmapDataset, Subset, TensorDataset, check_labels,
                      random_split)
from .loader import DataLoader, default_collate
from .sampler import RandomSampler, Sampler, SequentialSampler
from .text import CharSequenceDataset, Vocabulary
from . import datasets

__all__ = ["DataLoader", "Dataset", "MemmapDataset", "RandomSampler", "Sampler",
           "SequentialSampler", "Subset", "TensorDataset", "check_labels", "datasets",
           "default_collate", "random_split", "CharSequenceDataset", "Vocabulary"]
