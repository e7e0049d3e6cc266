"""The IDX file format of MNIST and Fashion-MNIST: read and write, gzipped or not.

An IDX file is a 4-byte magic number ``0x00 0x00 <type> <ndim>``, then ``ndim``
big-endian uint32 sizes, then the values in row-major order, big-endian. The
type byte is 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
0x0E float64. A name ending in ``.gz`` means the file is gzip-compressed.

    >>> import numpy as np, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte.gz")
    >>> write_idx(path, np.array([3, 1, 4], dtype=np.uint8))
    >>> read_idx(path).tolist()
    [3, 1, 4]
"""
import gzip
import os
import struct

import numpy

_TYPES = {
    0x08: numpy.dtype("u1"), 0x09: numpy.dtype("i1"), 0x0B: numpy.dtype(">i2"),
    0x0C: numpy.dtype(">i4"), 0x0D: numpy.dtype(">f4"), 0x0E: numpy.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in _TYPES.items()}


def _open(path, mode):
    return gzip.open(path, mode) if os.fspath(path).endswith(".gz") else open(path, mode)


def read_idx(path):
    """The array stored in the IDX file ``path`` (native byte order).

    Raises:
        ValueError: the file is not IDX, or is shorter than its header says
            (truncated download), naming the file.
    """
    path = os.fspath(path)
    try:
        with _open(path, "rb") as handle:
            raw = handle.read()
    except (OSError, EOFError) as error:  # gzip.BadGzipFile is an OSError
        raise ValueError(f"{path}: cannot read it as a (gzipped) IDX file: {error}; "
                         f"delete it and download it again") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _TYPES:
        raise ValueError(f"{path}: not an IDX file (its first bytes are {raw[:4].hex() or 'empty'},"
                         f" expected 0000 then a type code 08/09/0b/0c/0d/0e and the rank)")
    dtype, ndim = _TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX file: the header announces {ndim} sizes but "
                         f"the file has only {len(raw)} bytes")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    expected = header + int(numpy.prod(shape, dtype=numpy.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(f"{path}: the IDX header says shape {shape} ({expected} bytes in all) "
                         f"but the file has {len(raw)} bytes; it is truncated or corrupt, "
                         f"delete it and download it again")
    array = numpy.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder("="))  # a writable copy in native order


def write_idx(path, array):
    """Write ``array`` to ``path`` in IDX format (gzipped if the name ends in ``.gz``).

    Args:
        array: uint8, int8, int16, int32, float32 or float64, any rank up to 255.
    """
    array = numpy.asarray(array)
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise TypeError(f"write_idx: IDX stores uint8, int8, int16, int32, float32 or "
                        f"float64, got {array.dtype}")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    body = array.astype(array.dtype.newbyteorder(">"), copy=False).tobytes()
    with _open(path, "wb") as handle:
        handle.write(header + body)
