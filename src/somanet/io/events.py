"""TensorBoard event files: writing them (``EventFileWriter``) and reading them back
(``read_events``), without TensorFlow.

An event file is a sequence of records in TFRecord framing, each holding one ``Event``
protocol buffer (TensorFlow's ``event.proto``)::

    uint64 length | uint32 masked_crc32c(length) | data[length] | uint32 masked_crc32c(data)

little-endian, the CRC being CRC-32C (Castagnoli) masked as
``((crc >> 15 | crc << 17) + 0xa282ead8) mod 2**32``. The first event names the format
(``file_version = "brain.Event:2"``); the others carry a ``Summary`` (scalars as
``simple_value``, histograms as ``HistogramProto``), a serialised ``GraphDef``, or a
``SessionLog``. TensorBoard reads every file in a folder whose name contains
``tfevents``; the protocol buffers are encoded here by hand (a few field types: varints,
doubles, floats, strings and nested messages), so neither TensorFlow nor the protobuf
package is needed.

    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with EventFileWriter(folder) as writer:
    ...     writer.add_scalar("loss", 0.5, step=1)
    >>> events = read_events(writer.path)
    >>> events[0]["file_version"], events[1]["summary"][0]["tag"], events[1]["step"]
    ('brain.Event:2', 'loss', 1)
"""
import itertools
import os
import socket
import struct
import time

import numpy

FILE_VERSION = "brain.Event:2"
SESSION_START = 1  # SessionLog.START: TensorBoard drops older events at or after its step

_counter = itertools.count()


# -- CRC-32C and the record framing ---------------------------------------------------------


def _crc_table():
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _crc_table()


def crc32c(data):
    """The CRC-32C (Castagnoli) of ``data`` (bytes): ``crc32c(b"123456789") == 0xE3069283``."""
    crc = 0xFFFFFFFF
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data):
    """TFRecord's masked CRC of ``data``: the CRC rotated right by 15 bits plus a constant."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def frame(data):
    """One TFRecord: the length, its masked CRC, ``data``, its masked CRC."""
    header = struct.pack("<Q", len(data))
    return (header + struct.pack("<I", masked_crc32c(header)) + data
            + struct.pack("<I", masked_crc32c(data)))


# -- protocol buffer encoding ---------------------------------------------------------------


def _varint(value):
    value &= 0xFFFFFFFFFFFFFFFF  # negative int64s take ten bytes, as protobuf writes them
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def field_varint(number, value):
    return _varint(number << 3) + _varint(int(value))


def field_double(number, value):
    return _varint(number << 3 | 1) + struct.pack("<d", float(value))


def field_float(number, value):
    return _varint(number << 3 | 5) + struct.pack("<f", float(value))


def field_bytes(number, value):
    """A length-delimited field: bytes, a string (UTF-8) or an encoded message."""
    if isinstance(value, str):
        value = value.encode("utf-8")
    return _varint(number << 3 | 2) + _varint(len(value)) + bytes(value)


def field_packed_doubles(number, values):
    values = numpy.asarray(values, dtype="<f8")
    return field_bytes(number, values.tobytes())


def decode_message(data):
    """A protocol buffer message as ``{field number: [values]}``: varints as ints, 64- and
    32-bit fields as their 8 or 4 raw bytes, length-delimited fields as bytes.

    Raises:
        ValueError: the bytes are not a well-formed message.
    """
    fields, position, size = {}, 0, len(data)

    def varint():
        nonlocal position
        result, shift = 0, 0
        while True:
            if position >= size or shift > 63:
                raise ValueError("a protocol buffer varint runs past the end of the message")
            byte = data[position]
            position += 1
            result |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return result

    while position < size:
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            value = varint()
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            value = bytes(data[position:position + width])
            position += width
        elif wire == 2:
            length = varint()
            value = bytes(data[position:position + length])
            position += length
        else:
            raise ValueError(f"protocol buffer wire type {wire} (field {number}) is not one "
                             f"an event file uses")
        if position > size:
            raise ValueError(f"protocol buffer field {number} runs past the end of the "
                             f"message")
        fields.setdefault(number, []).append(value)
    return fields


# -- the messages ---------------------------------------------------------------------------


def scalar_value(tag, value):
    """A ``Summary.Value`` holding a scalar (``simple_value``)."""
    return field_bytes(1, tag) + field_float(2, value)


def histogram_value(tag, values, bins=30):
    """A ``Summary.Value`` holding a ``HistogramProto`` of ``values`` (any shape; NaN and
    infinite values are left out): ``bins`` equal-width buckets from the minimum to the
    maximum, each bucket's right edge in ``bucket_limit``."""
    array = numpy.asarray(values, dtype=numpy.float64).ravel()
    array = array[numpy.isfinite(array)]
    if array.size == 0:
        counts, limits, low, high = numpy.zeros(1), numpy.zeros(1), 0.0, 0.0
    else:
        low, high = float(array.min()), float(array.max())
        counts, edges = numpy.histogram(array, bins=bins if high > low else 1,
                                        range=(low, high) if high > low else (low, low + 1))
        limits = edges[1:]
        limits[-1] = max(high, limits[-1])
    histo = (field_double(1, low) + field_double(2, high) + field_double(3, array.size)
             + field_double(4, array.sum()) + field_double(5, (array * array).sum())
             + field_packed_doubles(6, limits) + field_packed_doubles(7, counts))
    return field_bytes(1, tag) + field_bytes(5, histo)


def event(step=0, wall_time=None, summary_values=(), file_version=None, graph_def=None,
          session_status=None):
    """An encoded ``Event``."""
    data = field_double(1, time.time() if wall_time is None else wall_time)
    if step:
        data += field_varint(2, step)
    if file_version is not None:
        data += field_bytes(3, file_version)
    if graph_def is not None:
        data += field_bytes(4, graph_def)
    if summary_values:
        data += field_bytes(5, b"".join(field_bytes(1, value) for value in summary_values))
    if session_status is not None:
        data += field_bytes(6, field_varint(1, session_status))
    return data


class EventFileWriter:
    """Writes one TensorBoard event file in ``log_dir`` (created if needed), named
    ``events.out.tfevents.<seconds>.<host>.<pid>.<n>`` as TensorFlow names them.

    Every event is written (and flushed) as it is added, so TensorBoard can follow a run
    while it trains and a killed process loses nothing written before. Use it as a
    context manager, or call ``close()``.

    Args:
        log_dir: the folder (one TensorBoard "run").
        filename_suffix: appended to the file's name.
    """

    def __init__(self, log_dir, filename_suffix=""):
        self.log_dir = os.fspath(log_dir)
        os.makedirs(self.log_dir, exist_ok=True)
        name = (f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}."
                f"{os.getpid()}.{next(_counter):06d}{filename_suffix}")
        self.path = os.path.join(self.log_dir, name)
        self._file = open(self.path, "wb")
        self._write(event(file_version=FILE_VERSION))

    def _write(self, data):
        if self._file is None:
            raise ValueError(f"EventFileWriter: {self.path} is closed")
        self._file.write(frame(data))
        self._file.flush()

    def add_scalar(self, tag, value, step):
        """The scalar ``value`` (a number) under ``tag`` at ``step``."""
        self._write(event(step, summary_values=[scalar_value(tag, value)]))

    def add_scalars(self, values, step):
        """Several scalars, ``{tag: value}``, in one event at ``step``."""
        if values:
            self._write(event(step, summary_values=[scalar_value(tag, value)
                                                    for tag, value in values.items()]))

    def add_histograms(self, values, step, bins=30):
        """A histogram of each array of ``{tag: array}`` at ``step``."""
        if values:
            self._write(event(step, summary_values=[histogram_value(tag, array, bins)
                                                    for tag, array in values.items()]))

    def add_graph_def(self, graph_def):
        """A serialised TensorFlow ``GraphDef`` (TensorBoard's Graphs tab draws it)."""
        self._write(event(graph_def=graph_def))

    def add_session_start(self, step):
        """A ``SessionLog.START`` at ``step``: a restarted run; TensorBoard discards the
        events of the earlier run at or after ``step`` (its orphaned data)."""
        self._write(event(step, session_status=SESSION_START))

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# -- reading --------------------------------------------------------------------------------


def read_records(path):
    """The data of every TFRecord in the file ``path``, both CRCs checked.

    Raises:
        ValueError: a record is cut short or its CRC does not match (naming the offset).
    """
    path = os.fspath(path)
    with open(path, "rb") as handle:
        data = handle.read()
    records, offset = [], 0
    while offset < len(data):
        if offset + 12 > len(data):
            raise ValueError(f"{path}: the record at byte {offset} is cut short (a writer "
                             f"was killed mid-record?)")
        header = data[offset:offset + 8]
        (length,) = struct.unpack("<Q", header)
        (header_crc,) = struct.unpack("<I", data[offset + 8:offset + 12])
        if header_crc != masked_crc32c(header):
            raise ValueError(f"{path}: the record at byte {offset} has a bad length CRC; "
                             f"not an event file, or damaged")
        end = offset + 12 + length
        if end + 4 > len(data):
            raise ValueError(f"{path}: the record at byte {offset} is cut short")
        body = data[offset + 12:end]
        (body_crc,) = struct.unpack("<I", data[end:end + 4])
        if body_crc != masked_crc32c(body):
            raise ValueError(f"{path}: the record at byte {offset} has a bad data CRC; "
                             f"the file is damaged")
        records.append(body)
        offset = end + 4
    return records


def _double(raw):
    return struct.unpack("<d", raw)[0]


def _string(raw):
    return raw.decode("utf-8")


def _decode_histogram(data):
    fields = decode_message(data)

    def doubles(number):
        return [value for chunk in fields.get(number, []) for value in
                numpy.frombuffer(chunk, dtype="<f8").tolist()]

    scalars = {name: _double(fields[number][-1]) if number in fields else 0.0
               for number, name in ((1, "min"), (2, "max"), (3, "num"), (4, "sum"),
                                    (5, "sum_squares"))}
    return {**scalars, "bucket_limit": doubles(6), "bucket": doubles(7)}


def decode_event(data):
    """An encoded ``Event`` as a dict: ``wall_time``, ``step``, and whichever of
    ``file_version``, ``graph_def`` (bytes), ``summary`` (a list of ``{"tag",
    "simple_value"}`` or ``{"tag", "histo"}``) and ``session_log`` (``{"status"}``) it
    holds."""
    fields = decode_message(data)
    result = {"wall_time": _double(fields[1][-1]) if 1 in fields else 0.0,
              "step": _signed(fields[2][-1]) if 2 in fields else 0}
    if 3 in fields:
        result["file_version"] = _string(fields[3][-1])
    if 4 in fields:
        result["graph_def"] = fields[4][-1]
    if 5 in fields:
        values = []
        for raw in decode_message(fields[5][-1]).get(1, []):
            value = decode_message(raw)
            item = {"tag": _string(value[1][-1]) if 1 in value else ""}
            if 2 in value:
                item["simple_value"] = struct.unpack("<f", value[2][-1])[0]
            if 5 in value:
                item["histo"] = _decode_histogram(value[5][-1])
            values.append(item)
        result["summary"] = values
    if 6 in fields:
        log = decode_message(fields[6][-1])
        result["session_log"] = {"status": log.get(1, [0])[-1]}
    return result


def _signed(value):
    return value - (1 << 64) if value >= 1 << 63 else value


def read_events(path):
    """Every event of the event file ``path``, decoded (``decode_event``), in order."""
    return [decode_event(record) for record in read_records(path)]


def read_scalars(log_dir):
    """Every scalar in the event files of the folder ``log_dir`` (not its sub-folders):
    ``{tag: [(step, value), ...]}`` in the order written (files by the time of their
    first event)."""
    files = [read_events(os.path.join(log_dir, name)) for name in sorted(os.listdir(log_dir))
             if "tfevents" in name]
    files.sort(key=lambda found: found[0]["wall_time"] if found else 0.0)
    scalars = {}
    for found in files:
        for item in found:
            for value in item.get("summary", []):
                if "simple_value" in value:
                    scalars.setdefault(value["tag"], []).append((item["step"],
                                                                 value["simple_value"]))
    return scalars
