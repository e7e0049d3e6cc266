"""What fit adds to a checkpoint, and how it reads it back.

A checkpoint is ``somanet.io.save_checkpoint``'s folder (weights, optimiser state, the
loader's epoch / position / order, the RNG state, the history), written atomically;
under MPI it is written by rank 0 (fit's ``FitCheckpoint`` callback is ``chief_only``)
and read by every rank (``somanet.distributed.load_checkpoint``, which checks that the
ranks read the same one). fit adds, under ``extra["fit"]``, what it needs to continue
mid-epoch exactly: the batch position, the running loss of the epoch so far, the
metrics' state, and the step of the last checkpoint.
"""
from ..distributed import load_checkpoint
from ..io import save_checkpoint

FIT_KEY = "fit"


def metric_state(metric):
    """A metric's running sums as JSON data (``Metric.get_state()``, a list of floats)."""
    if hasattr(metric, "get_state"):
        return {"state": metric.get_state()}
    return {}


def load_metric_state(metric, saved):
    if "state" in saved and hasattr(metric, "set_state"):
        metric.set_state(saved["state"])


def save(folder, model, optimizer, loader, progress, history, metrics):
    """Write the checkpoint of a run at ``progress`` (a ``Progress``); ``history`` is the
    run's ``History`` (its ``history`` dict is the checkpoint's history)."""
    extra = {FIT_KEY: {**progress.to_json(), "metrics": [metric_state(m) for m in metrics],
                       "history_epochs": list(getattr(history, "epoch", []))}}
    save_checkpoint(folder, model, optimizer=optimizer, loader=loader, epoch=progress.epoch,
                    step=progress.step, history=getattr(history, "history", {}), extra=extra,
                    rng=True)


def restore(folder, model, optimizer, loader, metrics):
    """Load the checkpoint in ``folder`` into the model, optimiser, loader, RNG and
    metrics; return ``(progress, history, history_epochs)``."""
    info = load_checkpoint(folder, model, optimizer=optimizer, loader=loader,
                           restore_rng=True)
    saved = (info.get("extra") or {}).get(FIT_KEY) or {}
    progress = Progress.from_json(saved, epoch=info["epoch"] or 0, step=info["step"] or 0)
    for metric, state in zip(metrics, saved.get("metrics", [])):
        load_metric_state(metric, state)
    history = info.get("history") or {}
    epochs = saved.get("history_epochs")
    if epochs is None:  # a checkpoint written by something else: number the epochs from 0
        epochs = list(range(len(next(iter(history.values()), []))))
    return progress, history, epochs


class Progress:
    """Where a fit run is: the epoch in progress, the batch within it, the batches trained
    in all, and the epoch's running loss. Plain numbers, saved in checkpoints."""

    def __init__(self, epoch=0, batch=0, step=0, loss_sum=0.0, seen=0, last_saved_step=0):
        self.epoch = epoch
        self.batch = batch  # batches of ``epoch`` already trained
        self.step = step  # batches trained since the start of the run
        self.loss_sum = loss_sum  # sum over the epoch's samples of the batch losses
        self.seen = seen  # samples trained in the epoch
        self.last_saved_step = last_saved_step

    def start_epoch(self, epoch):
        self.epoch, self.batch, self.loss_sum, self.seen = epoch, 0, 0.0, 0

    @property
    def mean_loss(self):
        return self.loss_sum / self.seen if self.seen else float("nan")

    def to_json(self):
        return {"batch": self.batch, "loss_sum": self.loss_sum, "seen": self.seen,
                "last_saved_step": self.last_saved_step}

    @classmethod
    def from_json(cls, saved, epoch, step):
        return cls(epoch=epoch, batch=int(saved.get("batch", 0)), step=step,
                   loss_sum=float(saved.get("loss_sum", 0.0)), seen=int(saved.get("seen", 0)),
                   last_saved_step=int(saved.get("last_saved_step", step)))
