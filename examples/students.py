"""Seed 003, "Deep Neural Network" example: predict the students that fail the class.

Two inputs per student,

    x1 = total number of lectures attended,   x2 = hours spent on self study and homework,

a single hidden layer and one sigmoid output, the probability of failing. The
article's functional model API, ``Input -> Dense -> Model``:

    inputs = Input(2);  hidden = Dense(d1)(inputs);  outputs = Dense(1)(hidden)
    model = Model(inputs, outputs)

"consider output in first pass is 0.9 for the input [5, 9] which is not
true. This is because the network was not trained": an untrained network's
output is a guess made by its random initial weights (here it prints
whatever its own weights give; 0.9 was the article's). Training minimises
the empirical loss over the p students,

    J(W) = 1/p sum_j L(f(x_j, W), y_j),
    L = -(y log f + (1 - y) log(1 - f))      the binary cross-entropy, "when the output
                                             is a prediction (0 or 1)"

by gradient descent on mini-batches (Adam here), and "end the training
whenever overfit is set to occur": ``EarlyStopping`` watches the loss on
20% of the students held out for validation and keeps the best weights.

The class is synthetic, from a stated rule: 300 students, lectures attended
0-20, study hours 0-20, and

    P(fail) = sigmoid(10 - 0.8 x1 - 1.0 x2)

so a student who attended 5 lectures and studied 9 hours fails with
probability sigmoid(-3) = 0.047: after training, the network's answer for
[5, 9] is low (a pass), as the article says it should be.

Figures: ``students_loss.png`` (loss and accuracy per epoch, training and
validation: ``History.plot``) and ``students_boundary.png`` (the network's
probability of failing over the (lectures, hours) plane, the students, and
[5, 9]).

    python examples/students.py [--out FOLDER] [--seed N]
"""
import argparse
import os
import tempfile
import warnings

import numpy as np

import somanet as sn
from somanet import nn

QUERY = [5.0, 9.0]  # 5 lectures attended, 9 hours of study


def synthetic_class(students=300, seed=0):
    """(lectures, hours) float32 (students, 2) and fail labels float32 (students, 1)."""
    rng = np.random.default_rng(seed)
    lectures = rng.integers(0, 21, students)
    hours = np.round(rng.uniform(0.0, 20.0, students), 1)
    p_fail = 1 / (1 + np.exp(-(10 - 0.8 * lectures - 1.0 * hours)))
    failed = rng.random(students) < p_fail
    x = np.stack([lectures, hours], axis=1).astype(np.float32)
    return x, failed.astype(np.float32).reshape(-1, 1)


def main(out=None, seed=0, epochs=300, hidden_units=4, students=300):
    """Build the functional model, show its untrained answer for [5, 9], train, show it again.

    Returns:
        ``{"untrained", "trained"`` (P(fail) for [5, 9]), ``"untrained_loss", "final_loss",
        "accuracy", "epochs_run", "val_accuracy", "fail_rate", "figures"}``.
    """
    out = out if out is not None else tempfile.mkdtemp(prefix="somanet_students_")
    os.makedirs(out, exist_ok=True)
    x, y = synthetic_class(students)
    print(f"{len(x)} students, {int(y.sum())} failed ({y.mean():.0%})")

    # The article's functional API: Input -> Dense -> Dense -> Model.
    sn.manual_seed(seed)
    inputs = sn.Input(shape=(2,))  # [lectures attended, hours of study]
    hidden = nn.Dense(hidden_units, activation="sigmoid")(inputs)  # the single hidden layer
    outputs = nn.Dense(1, activation="sigmoid")(hidden)  # P(fail)
    model = sn.Model(inputs, outputs)
    model.compile(optimizer=sn.optim.Adam(model.parameters(), lr=0.02),
                  loss="binary_crossentropy",  # L = -(y log f + (1 - y) log(1 - f))
                  metrics=["accuracy"])

    query = np.array([QUERY], dtype=np.float32)
    untrained = float(model.predict(query)[0, 0])
    untrained_loss = model.evaluate(x, y, verbose=0)[0]  # J(W) before any training
    print(f"untrained network: P(fail | {QUERY}) = {untrained:.3f} (a guess by random weights; "
          f"the article's said 0.9); J(W) = {untrained_loss:.4f}")

    # Mini-batch gradient descent; stop when the validation loss stops improving.
    stop = sn.train.EarlyStopping(monitor="val_loss", patience=20, restore_best_weights=True)
    with warnings.catch_warnings():
        # fit warns whenever an epoch's mean loss rises; with shuffled mini-batches it
        # wobbles from epoch to epoch near the end, which is expected here.
        warnings.simplefilter("ignore", sn.train.LossIncreasingWarning)
        history = model.fit(x, y, epochs=epochs, batch_size=32, validation_split=0.2,
                            callbacks=[stop], verbose=0, seed=seed)
    final_loss, accuracy = model.evaluate(x, y, verbose=0)
    trained = float(model.predict(query)[0, 0])
    epochs_run = len(history.history["loss"])
    print(f"trained for {epochs_run} epochs (early stopping, best val_loss at epoch "
          f"{stop.best_epoch + 1}): J(W) = {final_loss:.4f}, accuracy {accuracy:.3f}")
    print(f"trained network: P(fail | {QUERY}) = {trained:.3f} -> "
          f"{'fails' if trained > 0.5 else 'passes'} (the rule behind the data: 0.047)")

    figures = [os.path.join(out, "students_loss.png"), os.path.join(out, "students_boundary.png")]
    history.plot(figures[0])  # loss and accuracy per epoch, training vs validation
    figure = sn.viz.plot_decision_boundary(model.predict, x, y.ravel())
    ax = figure.axes[0]
    ax.plot(*QUERY, marker="*", markersize=16, color="gold", markeredgecolor="black",
            linestyle="none", label=f"{QUERY}: P(fail) = {trained:.2f}")
    ax.set_xlabel("x1: lectures attended")
    ax.set_ylabel("x2: hours of self study")
    ax.set_title("P(fail) learnt by the 2-4-1 network (class 1 = failed)", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    figure.tight_layout()
    figure.savefig(figures[1])
    import matplotlib.pyplot
    matplotlib.pyplot.close("all")
    print("figures saved:", ", ".join(figures))
    return {"untrained": untrained, "trained": trained, "untrained_loss": untrained_loss,
            "final_loss": final_loss, "accuracy": accuracy, "epochs_run": epochs_run,
            "val_accuracy": max(history.history["val_accuracy"]), "fail_rate": float(y.mean()),
            "figures": figures}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Seed 003's students-fail network.")
    parser.add_argument("--out", default=None,
                        help="folder for the figures (default: a new temporary folder)")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights and shuffling")
    arguments = parser.parse_args()
    main(out=arguments.out, seed=arguments.seed)
