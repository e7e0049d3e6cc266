"""Tabular data from CSV files: columns chosen by name, categorical columns one-hot
encoded, numeric columns standardised with statistics from the training rows.

This is the preparation a tabular MLP needs, e.g. the classic graduate-admissions
network (UCLA's admissions data: ``gre`` and ``gpa`` standardised, ``rank`` one-hot,
``admit`` the target).

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "admissions.csv")
    >>> _ = open(path, "w").write("admit,gre,gpa,rank\\n0,380,3.61,3\\n1,660,3.67,3\\n"
    ...                           "1,800,4.0,1\\n1,640,3.19,4\\n")
    >>> data = load_csv(path, target="admit", categorical=["rank"])
    >>> data.feature_names
    ['gre', 'gpa', 'rank=1', 'rank=3', 'rank=4']
    >>> data.x_train.shape, data.y_train.tolist()
    ((4, 5), [0, 1, 1, 1])
"""
import csv
import io
import math
import os

import numpy

from ..._checks import check_fraction
from ...backend import fresh_generator

_MISSING = ("", "na", "nan", "null", "none", "?")
_FLOAT32_MAX = float(numpy.finfo(numpy.float32).max)
_SHOWN = 5  # cells named in a message


class TabularData:
    """What ``load_csv`` returns.

    Attributes:
        x_train, y_train: float32 features ``(N_train, F)`` and targets ``(N_train,)``.
        x_test, y_test: the held-out rows (``None`` when ``test_fraction=0``).
        encoder: the ``TabularEncoder`` fitted on the training rows; apply it to new data.
        feature_names: the ``F`` column names of ``x`` (one-hot columns as ``"col=level"``).
    """

    def __init__(self, x_train, y_train, x_test, y_test, encoder):
        self.x_train, self.y_train = x_train, y_train
        self.x_test, self.y_test = x_test, y_test
        self.encoder = encoder

    @property
    def feature_names(self):
        return self.encoder.feature_names

    def __repr__(self):
        test = 0 if self.x_test is None else len(self.x_test)
        return (f"TabularData({len(self.x_train)} train rows, {test} test rows, "
                f"{len(self.feature_names)} features, target {self.encoder.target!r})")


def _sort_levels(levels):
    """Category levels sorted numerically when they all look like numbers, else as text."""
    try:
        return sorted(levels, key=float)
    except ValueError:
        return sorted(levels)


class TabularEncoder:
    """Turns columns of raw values into model inputs, the same way for training and new data.

    Numeric column ``c``: ``(value - mean[c]) / std[c]`` (statistics from the
    training rows; a constant column gets std 1), or the raw value without
    standardisation. Categorical column ``c`` with levels ``l1..lk``: k columns
    ``c=l1 .. c=lk`` holding 1 where the row has that level, else 0.

    Attributes:
        features: the source columns, in order.
        categories: ``{column: [levels]}`` of the categorical feature columns.
        mean, std: ``{column: float}`` of the standardised numeric columns.
        target: the target column; ``target_classes`` its levels when categorical
            (targets are then class indices), else ``None``.
    """

    def __init__(self, features, categories, mean, std, target, target_classes, target_dtype):
        self.features = list(features)
        self.categories = {key: list(value) for key, value in categories.items()}
        self.mean, self.std = dict(mean), dict(std)
        self.target = target
        self.target_classes = None if target_classes is None else list(target_classes)
        self.target_dtype = str(target_dtype)

    @property
    def feature_names(self):
        names = []
        for column in self.features:
            if column in self.categories:
                names.extend(f"{column}={level}" for level in self.categories[column])
            else:
                names.append(column)
        return names

    def transform(self, columns):
        """Features ``(N, F)`` float32 from ``{column: values}`` (strings or numbers)."""
        blocks = []
        for column in self.features:
            if column not in columns:
                raise ValueError(f"TabularEncoder: the data lacks column {column!r}; it has "
                                 f"{sorted(columns)}")
            values = columns[column]
            if column in self.categories:
                levels = self.categories[column]
                lookup = {level: i for i, level in enumerate(levels)}
                codes = []
                for value in values:
                    key = str(value).strip()
                    if key not in lookup:
                        raise ValueError(f"TabularEncoder: column {column!r} has level {key!r}, "
                                         f"unseen when the encoder was fitted (levels "
                                         f"{levels})")
                    codes.append(lookup[key])
                block = numpy.zeros((len(values), len(levels)), dtype=numpy.float32)
                block[numpy.arange(len(values)), codes] = 1
            else:
                block = _to_float(values, column)[:, None]
                if column in self.mean:
                    block = (block - self.mean[column]) / self.std[column]
            blocks.append(block.astype(numpy.float32))
        if not blocks:
            return numpy.zeros((0, 0), dtype=numpy.float32)
        return numpy.concatenate(blocks, axis=1)

    def transform_target(self, values):
        """Targets ``(N,)``: class indices (int64) for a categorical target, else numbers."""
        if self.target_classes is not None:
            lookup = {level: i for i, level in enumerate(self.target_classes)}
            unknown = sorted({str(v).strip() for v in values} - set(lookup))
            if unknown:
                raise ValueError(f"TabularEncoder: target {self.target!r} has classes "
                                 f"{unknown} unseen when fitted (classes {self.target_classes})")
            return numpy.array([lookup[str(v).strip()] for v in values], dtype=numpy.int64)
        return _to_float(values, self.target).astype(self.target_dtype)

    def state_dict(self):
        """JSON-able settings (save them with a checkpoint's ``extra`` to reuse the encoding)."""
        return {"features": self.features, "categories": self.categories, "mean": self.mean,
                "std": self.std, "target": self.target, "target_classes": self.target_classes,
                "target_dtype": self.target_dtype}

    @classmethod
    def from_state_dict(cls, state):
        return cls(**state)


def _to_float(values, column):
    numbers = numpy.empty(len(values), dtype=numpy.float64)
    for row, value in enumerate(values):
        try:
            numbers[row] = float(value)
        except ValueError:
            raise ValueError(f"column {column!r} holds {str(value)!r:.40} in row {row + 1}, "
                             f"which is not a number; list it in categorical=[...] if it is a "
                             f"category") from None
        if not _in_range(numbers[row]):
            raise ValueError(f"column {column!r} holds {str(value)!r:.40} in row {row + 1}: "
                             f"not a finite number float32 can hold (|x| <= 3.4e38)")
    return numbers


def _in_range(number):
    return math.isfinite(number) and abs(number) <= _FLOAT32_MAX


def _decode(path):
    """The text of a CSV file (UTF-8, with or without a byte order mark); an undecodable
    file is a ValueError naming the byte offset and line."""
    with open(path, "rb") as handle:
        data = handle.read()
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    zero = data.find(b"\x00")
    if zero >= 0:
        line = data.count(b"\n", 0, zero) + 1
        raise ValueError(f"load_csv: {path} holds a NUL byte at byte {zero} (line {line}): it "
                         f"is not a text file (a binary file, or text in UTF-16?); save it as "
                         f"UTF-8 CSV")
    try:
        return data[start:].decode("utf-8")
    except UnicodeDecodeError as error:
        offset = start + error.start
        line = data.count(b"\n", 0, offset) + 1
        raise ValueError(f"load_csv: {path} is not UTF-8 text: byte {offset} (line {line}) is "
                         f"0x{data[offset]:02x} ({error.reason}); save the file as UTF-8 (or "
                         f"check that it is a CSV file at all)") from None


def _read_columns(path):
    """The header, ``{column: [string values]}``, the number of rows and each row's line
    in the file, checking the file's shape."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load_csv: no file {path!r}")
    reader = csv.reader(io.StringIO(_decode(path), newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise ValueError(f"load_csv: {path} is empty; expected a header row of column names")
        header = [name.strip() for name in header]
        duplicates = sorted({name for name in header if header.count(name) > 1})
        if duplicates:
            raise ValueError(f"load_csv: {path} has duplicate column names {duplicates}")
        rows, lines = [], []
        for row in reader:
            if not row or all(not cell.strip() for cell in row):
                continue  # blank lines
            if len(row) != len(header):
                raise ValueError(f"load_csv: {path} line {reader.line_num} has {len(row)} "
                                 f"fields, the header has {len(header)}")
            rows.append([cell.strip() for cell in row])
            lines.append(reader.line_num)
    except csv.Error as error:
        raise ValueError(f"load_csv: {path} line {reader.line_num} is not valid CSV: "
                         f"{error}") from None
    if not rows:
        raise ValueError(f"load_csv: {path} has a header but no data rows; the dataset "
                         f"would be empty")
    columns = {name: [row[i] for row in rows] for i, name in enumerate(header)}
    return header, columns, len(rows), lines


def _cells(found):
    shown = ", ".join(f"{value!r:.30} (line {line})" for line, value in found[:_SHOWN])
    return shown + (f" and {len(found) - _SHOWN} more" if len(found) > _SHOWN else "")


def _is_numeric(path, name, values, lines):
    """Whether the column holds numbers: True when every cell is a finite number float32
    can hold, False when most cells are text (a categorical column). A column of numbers
    with some cells that are not numbers (a typo such as ``5OO``), or that are infinite
    or out of float32's range, is an error naming those cells."""
    text, out_of_range = [], []
    for value, line in zip(values, lines):
        try:
            number = float(value)
        except ValueError:
            text.append((line, value))
            continue
        if not _in_range(number):
            out_of_range.append((line, value))
    if 2 * len(text) >= len(values):  # mostly text: categories
        return False
    if text:
        raise ValueError(f"load_csv: {path}: column {name!r} holds numbers, but "
                         f"{len(text)} cell(s) are not numbers: {_cells(text)}; correct them, "
                         f"or list the column in categorical=[...] to treat every value as a "
                         f"category")
    if out_of_range:
        raise ValueError(f"load_csv: {path}: column {name!r} holds {len(out_of_range)} "
                         f"number(s) that are infinite or beyond float32's range (|x| <= "
                         f"3.4e38): {_cells(out_of_range)}")
    return True


def _check_names(names, header, what):
    unknown = [name for name in names if name not in header]
    if unknown:
        raise ValueError(f"load_csv: {what} {unknown} not in the file; the columns are "
                         f"{header}")


def load_csv(path, target, features=None, categorical=None, standardize=True,
             test_fraction=0.0, seed=0, target_dtype=None):
    """Read a CSV file with a header row into float32 features and a target.

    Args:
        path: the file (comma-separated, first row = column names).
        target: the name of the column to predict.
        features: the input columns (default: every column but the target).
        categorical: columns to one-hot encode even though they hold numbers
            (e.g. a rank 1-4). Columns holding text are categorical anyway.
            A categorical target becomes class indices 0..k-1 (``encoder.target_classes``).
        standardize: standardise the numeric feature columns,
            ``(x - mean) / std``, with mean and std of the training rows only.
        test_fraction: the share of rows held out as the test set (``0 <= f < 1``).
        seed: the seed of the train/test shuffle (``numpy.random.default_rng(seed)``):
            train = the first rows of the permutation, test = the rest.
        target_dtype: the numeric target's dtype; default int64 when every value is
            a whole number (class labels), else float32.

    Returns:
        A ``TabularData``: ``x_train``, ``y_train``, ``x_test``, ``y_test``,
        ``feature_names`` and the fitted ``encoder``.

    Raises:
        ValueError: naming the file and the cells: a file that is not UTF-8 (the byte
            offset), a row with too many or too few fields, missing values, a column of
            numbers with a few cells that are not numbers (``5OO``: a typo, not a
            category; list the column in ``categorical`` if it is one), an infinite
            number or one beyond float32's range.

    Shape:
        x: ``(N, F)`` float32 with F = numeric columns + the levels of every
        categorical column; y: ``(N,)``.
    """
    header, columns, count, lines = _read_columns(path)
    if not isinstance(target, str):
        raise TypeError(f"load_csv: target must be a column name, got {target!r}")
    _check_names([target], header, "target column")
    features = [name for name in header if name != target] if features is None \
        else list(features)
    _check_names(features, header, "feature columns")
    if target in features:
        raise ValueError(f"load_csv: the target {target!r} is also listed as a feature")
    if not features:
        raise ValueError(f"load_csv: no feature columns (the file has only {header})")
    categorical = list(categorical or [])
    _check_names(categorical, header, "categorical columns")
    test_fraction = check_fraction("load_csv", "test_fraction", test_fraction,
                                   what="in [0, 1)")
    for name in features + [target]:
        missing = [i for i, value in enumerate(columns[name]) if value.lower() in _MISSING]
        if missing:
            raise ValueError(f"load_csv: column {name!r} has {len(missing)} missing value(s), "
                             f"first in data row {missing[0] + 1}; fill or drop those rows "
                             f"first")

    n_test = int(round(count * test_fraction))
    if n_test and count - n_test < 1:
        raise ValueError(f"load_csv: test_fraction={test_fraction} leaves no training rows "
                         f"out of {count}")
    if n_test:
        order = fresh_generator(seed).permutation(count)
        train_rows, test_rows = order[:count - n_test], order[count - n_test:]
    else:
        train_rows, test_rows = numpy.arange(count), None

    categories, mean, std = {}, {}, {}
    for name in features:
        values = columns[name]
        if name in categorical or not _is_numeric(path, name, values, lines):
            categories[name] = _sort_levels(set(values))
        elif standardize:
            train_values = _to_float(values, name)[train_rows]
            mean[name] = float(train_values.mean())
            spread = float(train_values.std())
            std[name] = spread if spread > 0 and math.isfinite(spread) else 1.0
    target_values = columns[target]
    if target in categorical or not _is_numeric(path, target, target_values, lines):
        target_classes, dtype = _sort_levels(set(target_values)), "int64"
    else:
        target_classes = None
        numbers = _to_float(target_values, target)
        whole = bool((numbers == numpy.round(numbers)).all())
        dtype = target_dtype or ("int64" if whole else "float32")
    encoder = TabularEncoder(features, categories, mean, std, target, target_classes,
                             numpy.dtype(dtype).name)

    def part(rows):
        selected = {name: [columns[name][i] for i in rows] for name in features + [target]}
        return encoder.transform(selected), encoder.transform_target(selected[target])

    x_train, y_train = part(train_rows)
    x_test, y_test = part(test_rows) if test_rows is not None else (None, None)
    return TabularData(x_train, y_train, x_test, y_test, encoder)
