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
import math
import os
import struct
import zlib

import numpy

_TYPES = {
    0x08: numpy.dtype("u1"), 0x09: numpy.dtype("i1"), 0x0B: numpy.dtype(">i2"),
    0x0C: numpy.dtype(">i4"), 0x0D: numpy.dtype(">f4"), 0x0E: numpy.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in _TYPES.items()}


def _open(path, mode):
    return gzip.open(path, mode) if os.fspath(path).endswith(".gz") else open(path, mode)


_CHUNK = 1 << 22  # bytes read at a time
_DEFLATE_RATIO = 1032  # deflate's largest possible expansion: one byte can give 1032


def read_idx(path):
    """The array stored in the IDX file ``path`` (native byte order).

    The header is checked before the data is read or decompressed: the magic number,
    the dimensions, and the size they announce against the file (a plain file must have
    exactly that size; a gzip file of ``n`` bytes cannot hold more than 1032 ``n``).
    Reading then stops at the announced size, so a small gzip file that expands to
    gigabytes costs no more than its header says.

    Raises:
        ValueError: the file is not IDX, is shorter or longer than its header says
            (a truncated or corrupt download), naming the file.
    """
    path = os.fspath(path)
    gzipped = path.endswith(".gz")
    try:
        on_disk = os.path.getsize(path)
        with _open(path, "rb") as handle:
            return _read(handle, path, on_disk, gzipped)
    except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
        raise ValueError(f"{path}: cannot read it as a (gzipped) IDX file: {error}; "
                         f"delete it and download it again") from None


def _read_exactly(handle, count):
    data = handle.read(count)
    return data if data is not None else b""


def _read(handle, path, on_disk, gzipped):
    start = _read_exactly(handle, 4)
    if len(start) < 4 or start[0] != 0 or start[1] != 0 or start[2] not in _TYPES:
        raise ValueError(f"{path}: not an IDX file (its first bytes are "
                         f"{start.hex() or 'empty'}, expected 0000 then a type code "
                         f"08/09/0b/0c/0d/0e and the rank)")
    dtype, ndim = _TYPES[start[2]], start[3]
    header = 4 + 4 * ndim
    sizes = _read_exactly(handle, 4 * ndim)
    if len(sizes) < 4 * ndim:
        raise ValueError(f"{path}: truncated IDX file: the header announces {ndim} sizes but "
                         f"the file has only {4 + len(sizes)} bytes")
    shape = struct.unpack(f">{ndim}I", sizes)
    expected = header + math.prod(shape) * dtype.itemsize
    if not gzipped and expected != on_disk:
        raise ValueError(f"{path}: the IDX header says shape {shape} ({expected} bytes in all) "
                         f"but the file has {on_disk} bytes; it is truncated or corrupt, "
                         f"delete it and download it again")
    if gzipped and expected > _DEFLATE_RATIO * on_disk + 1024:
        raise ValueError(f"{path}: the IDX header says shape {shape} ({expected} bytes in all), "
                         f"more than a gzip file of {on_disk} bytes can hold; it is corrupt, "
                         f"delete it and download it again")
    data = numpy.empty(expected - header, dtype=numpy.uint8)
    filled = 0
    while filled < data.size:
        got = handle.readinto(memoryview(data)[filled:filled + _CHUNK])
        if not got:
            break
        filled += got
    if filled < data.size or _read_exactly(handle, 1):
        what = f"{header + filled} bytes" if filled < data.size else "more bytes than that"
        raise ValueError(f"{path}: the IDX header says shape {shape} ({expected} bytes in all) "
                         f"but the {'decompressed ' if gzipped else ''}file has {what}; it is "
                         f"truncated or corrupt, delete it and download it again")
    array = data.view(dtype).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)  # native order, writable


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
