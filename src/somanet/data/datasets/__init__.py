"""Ready-made datasets, exposed as ``somanet.datasets``.

- ``mnist_small()``: 5,000 real MNIST digits shipped inside somanet (no download).
- ``mnist(path)``, ``fashion_mnist(path)``: the full datasets from the standard IDX
  files in a folder (``download=True`` fetches them, checking checksums).
- ``xor()``, ``three_bit_images()``: tiny textbook examples (XOR; four 3-bit images).
- ``shakespeare()``: three of Shakespeare's tragedies (419,129 characters) shipped
  inside somanet, for character-level language models; ``read_text(path)`` reads yours.
- ``load_csv(path, target=...)``: tabular data, one-hot categories, standardised numbers.
- ``dates(split, n, seed)``: a synthetic translation task, dates written in English in
  many styles -> ISO dates, with character vocabularies (``CharVocabulary``).
- ``read_idx`` / ``write_idx``: the IDX file format.

Each returns NumPy arrays; wrap them in ``somanet.data.TensorDataset`` to batch them.
"""
from .idx import read_idx, write_idx
from .vision import (FASHION_MNIST_CLASSES, MNIST_SMALL_SHA256, fashion_mnist, mnist,
                    mnist_small)
from .tabular import TabularData, TabularEncoder, load_csv
from .toy import three_bit_images, xor
from .text import SHAKESPEARE_SHA256, read_text, shakespeare, split_text
from .dates import CharVocabulary, TranslationPairs, date_vocabularies, dates

__all__ = ["CharVocabulary", "TranslationPairs", "date_vocabularies", "dates",
           "FASHION_MNIST_CLASSES", "MNIST_SMALL_SHA256", "TabularData", "TabularEncoder",
           "fashion_mnist", "load_csv", "mnist", "mnist_small", "read_idx",
           "three_bit_images", "write_idx", "xor", "SHAKESPEARE_SHA256", "read_text",
           "shakespeare", "split_text"]
