"""somanet.distributed.spark on a local Spark (local[2], two barrier tasks): the ranks are
one MPI world, 2 tasks x B/2 train exactly as 1 process x B, a DataFrame trains from each
task's own partition, and failures name the task and rank."""
import os
import shutil
import sys
import time

import numpy as np
import pytest

pytest.importorskip("pyspark")
pytest.importorskip("pyarrow")
if shutil.which("java") is None:
    pytest.skip("Spark needs a Java runtime", allow_module_level=True)

import somanet as sn  # noqa: E402
from somanet.distributed import spark as sn_spark  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def session():
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession
    spark = (SparkSession.builder.master("local[2]").appName("somanet-tests")
             .config("spark.ui.enabled", "false")
             .config("spark.driver.bindAddress", "127.0.0.1")
             .config("spark.sql.shuffle.partitions", "2")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    yield spark
    spark.stop()


def _train(steps):
    """Several steps of the usual data-parallel recipe on fixed data, with SGD (momentum)
    and then with Adam: the same code for one process and for N ranks."""
    import numpy as np  # noqa: F811  (shipped to the executors)

    import somanet as sn
    from somanet import distributed, nn
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 5)).astype(np.float32)
    y = rng.integers(0, 3, size=64)
    weights = {}
    for name in ("sgd", "adam"):
        sn.manual_seed(0)
        model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
        optimizer = sn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9) if name == "sgd" \
            else sn.optim.Adam(model.parameters(), lr=0.01)
        loader = sn.data.DataLoader(sn.data.TensorDataset(x, y), batch_size=16,
                                    shuffle=True, seed=1)
        optimizer, loader = distributed.prepare(model, optimizer, loader)
        taken = 0
        while taken < steps:
            for xb, yb in loader:
                loss = sn.cross_entropy(model(xb), yb)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                taken += 1
                if taken == steps:
                    break
        weights[name] = {k: v.numpy() for k, v in model.state_dict().items()}
    return {"world": distributed.world_size(), "weights": weights}


def test_two_tasks_train_as_one_process(session):
    alone = _train(steps=6)
    ranks = sn_spark.run(_train, num_workers=2, spark=session, steps=6)
    assert ranks["world"] == 2 and alone["world"] == 1
    for optimizer_name, state in alone["weights"].items():
        for name, value in state.items():
            np.testing.assert_allclose(ranks["weights"][optimizer_name][name], value,
                                       rtol=2e-5, atol=2e-6,
                                       err_msg=f"{optimizer_name}: {name}")


def _digits_frame(session, count):
    import pyarrow
    x, y = sn.datasets.mnist_small("train")
    x = np.asarray(x[:count], np.float32).reshape(count, -1)
    table = pyarrow.table({"pixels": pyarrow.array(list(x), type=pyarrow.list_(
        pyarrow.float32())), "label": pyarrow.array(np.asarray(y[:count], np.int64))})
    return session.createDataFrame(table), x, np.asarray(y[:count])


def _classifier():
    from somanet import nn
    sn.manual_seed(0)
    model = sn.Sequential([sn.Input(shape=(784,)), nn.Dense(32, activation="relu"),
                           nn.Dense(10)])
    model.compile(optimizer="adam",
                  loss=sn.train.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def test_a_dataframe_trains_from_each_tasks_partition(session):
    frame, x, y = _digits_frame(session, 1500)
    model = _classifier()
    history = sn_spark.fit(model, frame, features="pixels", label="label", num_workers=2,
                           spark=session, batch_size=32, epochs=3)
    x_test, y_test = sn.datasets.mnist_small("test")
    x_test = np.asarray(x_test, np.float32).reshape(len(x_test), -1)
    spark_accuracy = model.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"]
    in_memory = _classifier()
    in_memory.fit(x, y, batch_size=32, epochs=3, verbose=0)
    memory_accuracy = in_memory.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"]
    assert len(history["loss"]) == 3 and history["loss"][-1] < history["loss"][0]
    assert spark_accuracy > 0.8, (spark_accuracy, memory_accuracy)
    assert abs(spark_accuracy - memory_accuracy) < 0.05, (spark_accuracy, memory_accuracy)


def test_bad_dataframes_are_named(session):
    import pyarrow
    frame = session.createDataFrame(pyarrow.table({
        "a": pyarrow.array([1.0, None, 3.0, 4.0]), "b": pyarrow.array(["x"] * 4),
        "label": pyarrow.array([0, 1, 0, 1])}))
    model = _classifier()
    with pytest.raises(ValueError, match=r"no column 'c'.*columns are \['a', 'b', 'label'\]"):
        sn_spark.fit(model, frame, features=["a", "c"], label="label", spark=session)
    with pytest.raises(TypeError, match=r"feature column 'b' has type string"):
        sn_spark.fit(model, frame, features=["a", "b"], label="label", spark=session)
    with pytest.raises(sn_spark.SparkJobError, match=r"column 'a' holds 1 null value"):
        sn_spark.fit(model, frame, features=["a"], label="label", spark=session,
                     num_workers=2, batch_size=2)


def _dies_on_rank_1():
    import os
    import signal

    from somanet import distributed
    distributed.barrier()
    if distributed.rank() == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    distributed.barrier()
    return "unreachable"


def test_a_killed_task_ends_the_job_naming_it(session):
    started = time.monotonic()
    with pytest.raises(sn_spark.SparkJobError, match=r"task 1 \(rank 1\) failed"):
        sn_spark.run(_dies_on_rank_1, num_workers=2, spark=session)
    assert time.monotonic() - started < 60


def test_somanet_train_on_spark(session, tmp_path, capsys):
    import json

    from somanet.cli import main
    out = tmp_path / "run"
    code = main(["train", "--spark", "local[2]", "--workers", "2", "--epochs", "1",
                 "--limit", "400", "--out", str(out), "--no-plot", "--verbose", "0"])
    assert code == 0, capsys.readouterr().err
    config = json.loads((out / "config.json").read_text())
    assert config["spark"] == {"master": "local[2]", "workers": 2, "world_size": 2}
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_accuracy"] > 0.5
    # rank 0's checkpoint continues on Spark as under mpiexec
    code = main(["train", "--spark", "local[2]", "--workers", "2", "--resume", "--out",
                 str(out), "--epochs", "2", "--no-plot", "--verbose", "0"])
    assert code == 0, capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and len(metrics["history"]["loss"]) == 2
    assert main(["train", "--spark", "local[2]", "--out", str(tmp_path / "x")]) == 2
    assert "--spark MASTER and --workers N go together" in capsys.readouterr().err
