"""Every bad input to compile / fit / evaluate / predict gives a clear message."""
import numpy as np
import pytest

import somanet as sn
from somanet import nn
from somanet.data import DataLoader, Dataset, TensorDataset
from somanet.train import LambdaCallback

from .helpers import blobs, classifier, logits_loss, same_weights, weights


def compiled(**kwargs):
    model = classifier()
    model.compile(optimizer="adam", loss=logits_loss(), **kwargs)
    return model


def test_labels_outside_the_number_of_classes():
    x, y = blobs(n=20)
    y[7] = 5
    with pytest.raises(ValueError, match=r"fit: the labels in y must be class indices in "
                                         r"\[0, 3\) for a model with 3 outputs, got values from "
                                         r"0 to 5 \(1 out of range\)"):
        compiled().fit(x, y, verbose=0)
    y[7] = -1
    with pytest.raises(ValueError, match=r"got values from -1 to 2"):
        compiled().fit(x, y, verbose=0)
    y[7] = 5  # through a Dataset: the loss op names the label per batch
    with pytest.raises(ValueError, match=r"class label 5 is out of range: the input has 3 "
                                         r"classes"):
        compiled().fit(TensorDataset(x, y), verbose=0)


def test_the_hint_for_negative_labels_is_not_more_units():
    x, y = blobs(n=20)
    y[:] = -1
    with pytest.raises(ValueError) as caught:
        compiled().fit(x, y, verbose=0)
    message = str(caught.value)
    assert "got values from -1 to -1 (20 out of range); negative labels (20): class indices " \
           "count from 0 (to leave samples out of the loss, give them the loss's " \
           "ignore_index / ignore_class)" in message
    assert "units" not in message
    y[:2] = [-1, 6]
    y[2:] = 0
    with pytest.raises(ValueError, match=r"\(2 out of range\); negative labels \(1\): .*; "
                                         r"labels >= 3 \(1\): check the labels, or give the "
                                         r"last layer 7 units"):
        compiled().fit(x, y, verbose=0)


@pytest.mark.filterwarnings("ignore:the loss .* expects probabilities")
@pytest.mark.parametrize("loss", [nn.CrossEntropyLoss(), nn.NLLLoss(), sn.cross_entropy,
                                  "sparse_categorical_crossentropy"])
def test_every_loss_declaring_class_indices_gets_its_labels_checked(loss):
    x, y = blobs(n=20)
    y[3] = 4
    model = classifier()
    model.compile(optimizer="adam", loss=loss)
    with pytest.raises(ValueError, match=r"class indices in \[0, 3\) .* got values from 0 "
                                         r"to 4"):
        model.fit(x, y, verbose=0)


def test_x_and_y_of_different_lengths():
    x, y = blobs(n=20)
    with pytest.raises(ValueError, match=r"fit: x has 20 samples but y has 19; x and y need "
                                         r"the same number of samples"):
        compiled().fit(x, y[:19], verbose=0)
    with pytest.raises(ValueError, match=r"evaluate: x has 20 samples but y has 21"):
        compiled().evaluate(x, np.concatenate([y, y[:1]]), verbose=0)
    with pytest.raises(ValueError, match=r"the input arrays have different numbers of samples "
                                         r"\[20, 10\]"):
        compiled().fit([x, x[:10]], y, verbose=0)


def test_images_of_the_wrong_shape_name_the_layer():
    model = sn.Sequential([nn.Flatten(input_shape=(28, 28)), nn.Dense(16, activation="relu"),
                           nn.Dense(10)])
    model.compile(optimizer="adam", loss=logits_loss())
    images, labels = np.zeros((8, 32, 32), "float32"), np.zeros(8, "int64")
    with pytest.raises(ValueError, match=r"Sequential\[0\] \(Flatten\): expected input of shape "
                                         r"\(N, 28, 28\), got shape \(1, 32, 32\)"):
        model.fit(images, labels, verbose=0)
    lazy_first = sn.Sequential([nn.Flatten(), nn.Dense(16), nn.Dense(10)])
    lazy_first.build((None, 28, 28))
    lazy_first.compile(optimizer="adam", loss=logits_loss())
    with pytest.raises(ValueError, match=r"Sequential\[1\] \(Linear\): expected input of shape "
                                         r"\(\.\.\., 784\), got shape \(1, 1024\)"):
        lazy_first.fit(images, labels, verbose=0)
    with pytest.raises(ValueError, match=r"Sequential\[0\] \(Flatten\)"):
        model.predict(images)


def test_empty_data():
    with pytest.raises(ValueError, match=r"fit: the data is empty \(x has 0 samples\)"):
        compiled().fit(np.zeros((0, 4), "float32"), np.zeros(0, "int64"), verbose=0)

    class Empty(Dataset):
        def __len__(self):
            return 0

    with pytest.raises(ValueError, match=r"fit: the dataset is empty \(0 examples\)"):
        compiled().fit(Empty(), verbose=0)


def test_unwritable_checkpoint_folder_fails_before_training(tmp_path):
    x, y = blobs(n=20)
    model = compiled()
    before = weights(model)
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    batches = []
    with pytest.raises(OSError, match=r"fit: cannot write checkpoints to '.*a_file/run' "
                                      r"\(.*\); choose a folder you can write to"):
        model.fit(x, y, verbose=0, checkpoint_dir=blocker / "run",
                  callbacks=[LambdaCallback(on_train_batch_end=lambda b, l: batches.append(b))])
    assert batches == [] and same_weights(before, weights(model))


def test_fit_and_evaluate_before_compile():
    x, y = blobs(n=8)
    model = classifier()
    with pytest.raises(RuntimeError, match=r"fit: the model is not compiled; call "
                                           r"model.compile\(optimizer='adam', loss=\.\.\."):
        model.fit(x, y)
    with pytest.raises(RuntimeError, match=r"evaluate: the model is not compiled"):
        model.evaluate(x, y)
    assert model.predict(x).shape == (8, 3)  # predict needs no compile
    with pytest.raises(TypeError, match=r"compile: loss is required"):
        model.compile(optimizer="adam")


def test_unknown_names_list_the_known_ones():
    model = classifier()
    with pytest.raises(ValueError, match=r"unknown optimizer 'adm'\. Did you mean 'adam'\? Known "
                                         r"optimizers: sgd, adam"):
        model.compile(optimizer="adm", loss="mse")
    with pytest.raises(ValueError, match=r"unknown loss 'crossentropy'\. Did you mean "
                                         r"'binary_crossentropy'\? Known losses: mse, "):
        model.compile(optimizer="adam", loss="crossentropy")
    with pytest.raises(ValueError, match=r"unknown metric 'acuracy'\. Did you mean 'accuracy'\?"):
        model.compile(optimizer="adam", loss="mse", metrics=["acuracy"])
    with pytest.raises(TypeError, match=r"compile: loss must be a name"):
        model.compile(optimizer="adam", loss=3)


def test_bad_fit_arguments():
    x, y = blobs(n=20)
    model = compiled()
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    with pytest.raises(ValueError, match=r"batch_size is set by the DataLoader \(batch_size=4\)"):
        model.fit(loader, batch_size=8, verbose=0)
    with pytest.raises(TypeError, match=r"x is a DataLoader, which yields the targets too"):
        model.fit(loader, y, verbose=0)
    with pytest.raises(ValueError, match=r"validation_split cannot split a DataLoader"):
        model.fit(loader, validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match=r"validation_split must be a fraction in \(0, 1\)"):
        model.fit(x, y, validation_split=1.5, verbose=0)
    with pytest.raises(ValueError, match=r"validation_split=0.99 of 20 samples leaves 0 for "
                                         r"training and 20 for validation"):
        model.fit(x, y, validation_split=0.99, verbose=0)
    with pytest.raises(ValueError, match=r"give validation_split or validation_data, not both"):
        model.fit(x, y, validation_split=0.2, validation_data=(x, y), verbose=0)
    with pytest.raises(TypeError, match=r"expected \(x_val, y_val\), a Dataset or a DataLoader, "
                                        r"got tuple of length 3"):
        model.fit(x, y, validation_data=(x, y, y), verbose=0)
    with pytest.raises(TypeError, match=r"fit: y \(the targets\) is missing"):
        model.fit(x, verbose=0)
    with pytest.raises(ValueError, match=r"fit: epochs must be an int >= 1, got 0"):
        model.fit(x, y, epochs=0)
    with pytest.raises(ValueError, match=r"fit: accumulate_steps must be an int >= 1"):
        model.fit(x, y, accumulate_steps=0)
    with pytest.raises(ValueError, match=r"resume=True and checkpoint_every need checkpoint_dir"):
        model.fit(x, y, resume=True)
    with pytest.raises(ValueError, match=r"fit: verbose must be 0 \(silent\), 1"):
        model.fit(x, y, verbose=3)
    with pytest.raises(TypeError, match=r"fit: x must be an array"):
        model.fit("images.npy", y, verbose=0)


def test_outputs_losses_and_targets_must_agree():
    a = sn.Input(shape=(4,))
    model = sn.Model(a, [nn.Dense(3)(a), nn.Dense(1)(a)])
    x, y = blobs(n=16)
    model.compile(optimizer="adam", loss=[logits_loss(), "mse", "mse"])
    with pytest.raises(ValueError, match=r"compile got 3 losses but the model has 2 output"):
        model.fit(x, [y, y], verbose=0)
    model.compile(optimizer="adam", loss=[logits_loss(), "mse"])
    with pytest.raises(ValueError, match=r"the model has 2 outputs but the data gives 1 "
                                         r"target\(s\)"):
        model.fit(x, y, verbose=0)


def test_an_optimizer_for_other_parameters():
    model = classifier()
    other = sn.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    model.compile(optimizer=other, loss=logits_loss())
    x, y = blobs(n=8)
    with pytest.raises(ValueError, match=r"the SGD holds none of this model's parameters"):
        model.fit(x, y, verbose=0)


def test_the_label_check_skips_the_ignored_label_and_words_negative_labels_right():
    x, y = blobs(n=20)
    y[2] = -100
    model = classifier()
    model.compile(optimizer="adam", loss=nn.CrossEntropyLoss(ignore_index=-100))
    model.fit(x, y, verbose=0)  # -100 is the loss's ignored label, not an error
    y[2] = -1
    with pytest.raises(ValueError, match=r"got values from -1 to 2 \(1 out of range\); negative "
                                         r"labels \(1\): class indices count from 0"):
        compiled().fit(x, y, verbose=0)
