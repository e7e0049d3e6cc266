"""compile(jit=True): fit / evaluate / predict on compiled steps, bitwise as eager."""
import numpy as np
import pytest

import somanet as sn
from somanet import nn
from somanet.graph import CompileWarning, GraphCaptureError

from .helpers import blobs

pytestmark = pytest.mark.filterwarnings("ignore::somanet.train.LossIncreasingWarning")


def make(jit, dropout=0.3, norm=False):
    sn.manual_seed(0)
    layers = [nn.Dense(16, activation="relu")]
    if norm:
        layers.append(nn.BatchNorm1D(16))
    layers += [nn.Dropout(dropout), nn.Dense(3)]
    model = sn.Sequential([sn.Input(shape=(4,))] + layers)
    model.compile(optimizer="adam", metrics=["accuracy"], jit=jit,
                  loss=sn.train.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def weights(model):
    return [value.numpy().copy() for value in model.state_dict().values()]


@pytest.mark.parametrize("norm", [False, True])
def test_fit_evaluate_and_predict_compiled_equal_eager_bitwise(norm):
    x, y = blobs(n=70)  # 70 = 2 batches of 32 and one of 6: two signatures
    results = []
    for jit in (False, True):
        model = make(jit, norm=norm)
        history = model.fit(x, y, epochs=3, batch_size=32, validation_split=0.2, verbose=0,
                            seed=1)
        results.append((history.history, weights(model), model.evaluate(x, y, verbose=0),
                        model.predict(x)))
    (h1, w1, e1, p1), (h2, w2, e2, p2) = results
    assert h1 == h2 and e1 == e2
    np.testing.assert_array_equal(p1, p2)
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)


def test_the_compiled_steps_are_kept_per_batch_shape():
    x, y = blobs(n=70)
    model = make(True)
    model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    assert len(model._jit_steps["train"].programs) == 2  # 32 and the last 6 (70 - 64)


def test_accumulating_gradients_runs_eagerly_with_one_warning():
    x, y = blobs(n=32)
    eager, compiled = make(False), make(True)
    eager.fit(x, y, epochs=1, batch_size=8, accumulate_steps=2, verbose=0, seed=2)
    with pytest.warns(CompileWarning, match="accumulate_steps > 1 runs eagerly"):
        compiled.fit(x, y, epochs=1, batch_size=8, accumulate_steps=2, verbose=0, seed=2)
    for a, b in zip(weights(eager), weights(compiled)):
        np.testing.assert_array_equal(a, b)


def test_a_custom_step_reading_values_falls_back_or_raises_when_strict():
    class Peeking(sn.Model):
        def __init__(self):
            super().__init__()
            self.dense = nn.Dense(3)

        def forward(self, x):
            return self.dense(x)

        def train_step(self, batch):
            loss = super().train_step(batch)
            if float(loss) > 100:  # a Python decision on a value
                self.stop_training = True
            return loss

    x, y = blobs(n=16)
    for jit in (True, "strict"):
        model = Peeking()
        model.compile(optimizer="sgd", loss=nn.CrossEntropyLoss(), jit=jit)
        if jit is True:
            with pytest.warns(CompileWarning, match=r"train_step cannot be compiled.*float\(\)"):
                model.fit(x, y, epochs=2, batch_size=8, verbose=0)
        else:
            with pytest.raises(GraphCaptureError, match="cannot be compiled"):
                model.fit(x, y, epochs=1, batch_size=8, verbose=0)


def test_a_checkpoint_of_a_compiled_run_resumes_eagerly(tmp_path):
    x, y = blobs(n=48)
    reference = make(False)
    reference.fit(x, y, epochs=4, batch_size=16, verbose=0, seed=3)
    first = make(True)
    first.fit(x, y, epochs=2, batch_size=16, verbose=0, seed=3, checkpoint_dir=tmp_path)
    resumed = make(False)
    resumed.fit(x, y, epochs=4, batch_size=16, verbose=0, seed=3, checkpoint_dir=tmp_path,
                resume=True)
    for a, b in zip(weights(reference), weights(resumed)):
        np.testing.assert_array_equal(a, b)


def test_jit_must_be_a_known_choice():
    with pytest.raises(ValueError, match=r"compile: jit must be one of False, True, 'strict'"):
        make("yes")
