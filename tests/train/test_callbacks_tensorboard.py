"""The TensorBoard callback and somanet.io.events: the event files hold the tags, steps and
values fit logged, framed and encoded as TensorFlow's reader expects (checked against the
protobuf package's own parser where it is installed)."""
import os
import struct

import numpy as np
import pytest

import somanet as sn
from somanet import nn
from somanet.io import events
from somanet.train.callbacks import TensorBoard

from .helpers import blobs, classifier, logits_loss, weights


def event_file(folder):
    (name,) = [name for name in os.listdir(folder) if "tfevents" in name]
    return os.path.join(folder, name)


def compiled(dropout=0.0):
    model = classifier(dropout=dropout)
    model.compile(optimizer="adam", loss=logits_loss(), metrics=["accuracy"])
    return model


# -- the format --------------------------------------------------------------------------------

def test_crc32c_and_the_record_framing():
    assert events.crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    assert events.crc32c(b"") == 0
    record = events.frame(b"abc")
    (length,) = struct.unpack("<Q", record[:8])
    assert length == 3 and record[12:15] == b"abc" and len(record) == 19
    crc = events.crc32c(b"abc")
    masked = (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF
    assert struct.unpack("<I", record[15:])[0] == masked


def test_a_damaged_or_cut_event_file_is_a_clear_error(tmp_path):
    with events.EventFileWriter(tmp_path) as writer:
        writer.add_scalar("loss", 1.5, step=3)
    data = open(writer.path, "rb").read()
    (tmp_path / "cut").write_bytes(data[:-2])
    with pytest.raises(ValueError, match="is cut short"):
        events.read_events(tmp_path / "cut")
    flipped = bytearray(data)
    flipped[-6] ^= 1
    (tmp_path / "flipped").write_bytes(bytes(flipped))
    with pytest.raises(ValueError, match=r"the record at byte \d+ has a bad data CRC"):
        events.read_events(tmp_path / "flipped")
    (tmp_path / "text").write_bytes(b"this is no event file at all")
    with pytest.raises(ValueError, match="bad length CRC; not an event file"):
        events.read_events(tmp_path / "text")
    writer.close()
    with pytest.raises(ValueError, match="is closed"):
        writer.add_scalar("loss", 1.0, 4)


def _protobuf_classes():
    """Event, Summary, HistogramProto and GraphDef (the fields somanet writes) from
    descriptors built here: the protobuf package (installed with onnx, in the test extra)
    then parses the files independently of somanet's reader."""
    pytest.importorskip("google.protobuf")
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    F = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(name="somanet_tb_test.proto", package="t",
                                               syntax="proto3")
    layout = {
        "Event": [("wall_time", 1, F.TYPE_DOUBLE), ("step", 2, F.TYPE_INT64),
                  ("file_version", 3, F.TYPE_STRING), ("graph_def", 4, F.TYPE_BYTES),
                  ("summary", 5, ".t.Summary"), ("session_log", 6, ".t.SessionLog")],
        "SessionLog": [("status", 1, F.TYPE_INT32)],
        "Summary": [("value", 1, ".t.Value", True)],
        "Value": [("tag", 1, F.TYPE_STRING), ("simple_value", 2, F.TYPE_FLOAT),
                  ("histo", 5, ".t.HistogramProto")],
        "HistogramProto": [("min", 1, F.TYPE_DOUBLE), ("max", 2, F.TYPE_DOUBLE),
                           ("num", 3, F.TYPE_DOUBLE), ("sum", 4, F.TYPE_DOUBLE),
                           ("sum_squares", 5, F.TYPE_DOUBLE),
                           ("bucket_limit", 6, F.TYPE_DOUBLE, True),
                           ("bucket", 7, F.TYPE_DOUBLE, True)],
        "GraphDef": [("node", 1, ".t.NodeDef", True), ("versions", 4, ".t.VersionDef")],
        "VersionDef": [("producer", 1, F.TYPE_INT32)],
        "NodeDef": [("name", 1, F.TYPE_STRING), ("op", 2, F.TYPE_STRING),
                    ("input", 3, F.TYPE_STRING, True), ("attr", 5, ".t.AttrEntry", True)],
        "AttrEntry": [("key", 1, F.TYPE_STRING), ("value", 2, ".t.AttrValue")],
        "AttrValue": [("list", 1, ".t.ListValue"), ("s", 2, F.TYPE_BYTES)],
        "ListValue": [("shape", 7, ".t.TensorShapeProto", True)],
        "TensorShapeProto": [("dim", 2, ".t.Dim", True), ("unknown_rank", 3, F.TYPE_BOOL)],
        "Dim": [("size", 1, F.TYPE_INT64)],
    }
    for name, fields in layout.items():
        message = proto.message_type.add(name=name)
        for field in fields:
            fname, number, kind = field[:3]
            repeated = len(field) > 3
            entry = message.field.add(name=fname, number=number,
                                      label=F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL)
            if isinstance(kind, str):
                entry.type, entry.type_name = F.TYPE_MESSAGE, kind
            else:
                entry.type = kind
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"t.{name}"))
            for name in ("Event", "GraphDef")}


def test_the_protobuf_package_parses_what_the_writer_wrote(tmp_path):
    classes = _protobuf_classes()
    values = np.array([[-1.0, 0.5], [2.0, np.nan]])
    with events.EventFileWriter(tmp_path) as writer:
        writer.add_scalars({"epoch_loss": 0.25, "epoch_accuracy": 0.75}, step=7)
        writer.add_histograms({"1/weight": values}, step=2, bins=3)
        writer.add_session_start(12)
    parsed = []
    for record in events.read_records(writer.path):
        message = classes["Event"]()
        message.ParseFromString(record)
        parsed.append(message)
    assert parsed[0].file_version == "brain.Event:2"
    assert parsed[1].step == 7
    assert [(v.tag, v.simple_value) for v in parsed[1].summary.value] == [
        ("epoch_loss", 0.25), ("epoch_accuracy", 0.75)]
    histo = parsed[2].summary.value[0].histo
    assert (histo.min, histo.max, histo.num, histo.sum, histo.sum_squares) == (
        -1.0, 2.0, 3, 1.5, 5.25)  # the NaN is left out
    assert list(histo.bucket) == [1, 1, 1] and list(histo.bucket_limit) == [0.0, 1.0, 2.0]
    assert parsed[3].session_log.status == 1 and parsed[3].step == 12
    # somanet's own reader says the same
    decoded = events.read_events(writer.path)
    assert decoded[2]["summary"][0]["histo"]["bucket"] == [1.0, 1.0, 1.0]
    assert decoded[3]["session_log"] == {"status": 1} and decoded[3]["step"] == 12


# -- the callback in fit -----------------------------------------------------------------------

def test_fit_writes_scalars_per_epoch_and_per_batch_histograms_and_the_graph(tmp_path):
    x, y = blobs(n=96)
    model = compiled()
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0, validation_split=0.25,
                        callbacks=[TensorBoard(tmp_path, update_freq="batch")])
    train = events.read_scalars(tmp_path / "train")
    validation = events.read_scalars(tmp_path / "validation")
    assert sorted(train) == ["batch_accuracy", "batch_loss", "epoch_accuracy",
                             "epoch_learning_rate", "epoch_loss"]
    for key, tag in (("loss", "epoch_loss"), ("accuracy", "epoch_accuracy"),
                     ("lr", "epoch_learning_rate")):
        assert [step for step, _ in train[tag]] == [0, 1, 2]
        np.testing.assert_allclose([value for _, value in train[tag]], history.history[key],
                                   rtol=1e-6)  # float32 in the file
    for key in ("loss", "accuracy"):
        np.testing.assert_allclose([value for _, value in validation["epoch_" + key]],
                                   history.history["val_" + key], rtol=1e-6)
    steps_per_epoch = 72 // 16 + 1  # 72 training rows: 4 full batches and one of 8
    assert [step for step, _ in train["batch_loss"]] == list(range(1, 3 * steps_per_epoch + 1))
    # the last batch's running loss is the epoch's loss
    assert train["batch_loss"][steps_per_epoch - 1][1] == pytest.approx(
        history.history["loss"][0], rel=1e-6)
    found = events.read_events(event_file(tmp_path / "train"))
    histograms = {(item["step"], value["tag"]): value["histo"] for item in found
                  for value in item.get("summary", []) if "histo" in value}
    names = [name for name, _ in model.named_parameters()]
    assert sorted({tag for _, tag in histograms}) == sorted(n.replace(".", "/") for n in names)
    assert sorted({step for step, _ in histograms}) == [0, 1, 2]
    last = dict(model.named_parameters())[names[0]].numpy()
    histo = histograms[(2, names[0].replace(".", "/"))]
    assert sum(histo["bucket"]) == last.size and histo["num"] == last.size
    assert histo["min"] == pytest.approx(last.min()) and histo["max"] == pytest.approx(last.max())
    (graph_event,) = [item for item in found if "graph_def" in item]
    classes = _protobuf_classes()  # the GraphDef, parsed by the protobuf package
    graph = classes["GraphDef"]()
    graph.ParseFromString(graph_event["graph_def"])
    ops = {node.name: node for node in graph.node}
    assert [node.op for node in graph.node if node.op in ("Linear", "ReLU")] == [
        "Linear", "ReLU", "Linear"]
    first_linear = ops["linear"]
    assert list(first_linear.input)[1:] == [n.replace(".", "/") for n in names[:2]]
    shapes = {entry.key: entry.value for entry in first_linear.attr}["_output_shapes"]
    assert [dim.size for dim in shapes.list.shape[0].dim] == [1, 8]


def test_tensorboard_does_not_change_training(tmp_path):
    x, y = blobs(n=64)
    plain = compiled(dropout=0.3)
    plain.fit(x, y, epochs=2, batch_size=16, verbose=0, seed=3)
    logged = compiled(dropout=0.3)
    logged.fit(x, y, epochs=2, batch_size=16, verbose=0, seed=3,
               callbacks=[TensorBoard(tmp_path, update_freq=2)])
    for key, value in weights(plain).items():
        np.testing.assert_array_equal(value, weights(logged)[key])
    assert [step for step, _ in events.read_scalars(tmp_path / "train")["batch_loss"]] == \
        [2, 4, 6, 8]
    assert not (tmp_path / "validation").exists()  # no validation data, no folder


def test_a_resumed_run_continues_the_steps_after_a_session_start(tmp_path):
    x, y = blobs(n=64)
    folder = tmp_path / "checkpoint"
    model = compiled()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, checkpoint_dir=folder,
              callbacks=[TensorBoard(tmp_path / "logs", update_freq="batch",
                                     histogram_freq=0, write_graph=False)])
    first = set(os.listdir(tmp_path / "logs" / "train"))
    model = compiled()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, checkpoint_dir=folder, resume=True,
              callbacks=[TensorBoard(tmp_path / "logs", update_freq="batch",
                                     histogram_freq=0, write_graph=False)])
    (second,) = set(os.listdir(tmp_path / "logs" / "train")) - first
    found = events.read_events(tmp_path / "logs" / "train" / second)
    assert found[1]["session_log"] == {"status": 1} and found[1]["step"] == 5
    steps = [item["step"] for item in found if any(value["tag"] == "batch_loss"
                                                   for value in item.get("summary", []))]
    assert steps == [5, 6, 7, 8]
    assert [step for step, _ in events.read_scalars(tmp_path / "logs" / "train")[
        "epoch_loss"]] == [0, 1]


class Untraceable(nn.Module):
    """A model the graph layer cannot record: it decides on a tensor's value in Python."""

    def __init__(self):
        super().__init__()
        self.dense = nn.Dense(3)

    def forward(self, x):
        out = self.dense(x)
        return out * 2 if float(out.sum().item()) > 1e9 else out


def test_a_model_that_cannot_be_traced_trains_without_a_graph(tmp_path):
    x, y = blobs(n=32)
    model = sn.Sequential([sn.Input(shape=(4,)), Untraceable()])
    model.compile(optimizer="adam", loss=logits_loss())
    with pytest.warns(RuntimeWarning, match="the model's graph is not written: tracing it "
                                            "failed"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[TensorBoard(tmp_path)])
    found = events.read_events(event_file(tmp_path / "train"))
    assert not any("graph_def" in item for item in found)
    assert "epoch_loss" in events.read_scalars(tmp_path / "train")


def test_bad_arguments():
    with pytest.raises(ValueError, match="histogram_freq must be an int >= 0"):
        TensorBoard("logs", histogram_freq=-1)
    with pytest.raises(ValueError, match="update_freq must be 'epoch', 'batch' or an int"):
        TensorBoard("logs", update_freq="step")
    with pytest.raises(ValueError, match="update_freq must be"):
        TensorBoard("logs", update_freq=0)
    with pytest.raises(TypeError, match="log_dir must be a folder path, got int"):
        TensorBoard(3)


def test_event_files_sort_in_the_order_they_were_made(tmp_path):
    """TensorBoard loads a folder's files in name order: the tenth file of a process must
    not sort before the second."""
    paths = []
    for _ in range(12):
        with events.EventFileWriter(tmp_path) as writer:
            paths.append(os.path.basename(writer.path))
    assert sorted(paths) == paths
