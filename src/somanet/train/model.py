"""``Model``: a Module with Keras's ``compile`` / ``fit`` / ``evaluate`` / ``predict`` /
``summary``.

Three ways to make one, as in Keras:

- subclass it: layers in ``__init__``, the computation in ``forward``;
- ``Sequential([...])``: layers one after another (``somanet.train.Sequential``);
- the functional API: ``Model(inputs, outputs)`` from ``Input`` placeholders
  (``somanet.train.functional``).

The Keras quickstart (an MLP on MNIST digits), line for line::

    >>> import somanet as sn
    >>> from somanet import nn
    >>> from somanet.train import losses
    >>> (x_train, y_train) = sn.datasets.mnist_small("train")
    >>> model = sn.Sequential([nn.Flatten(input_shape=(28, 28)), nn.Dense(128, activation="relu"),
    ...                        nn.Dropout(0.2), nn.Dense(10)])
    >>> loss_fn = losses.SparseCategoricalCrossentropy(from_logits=True)
    >>> model.compile(optimizer="adam", loss=loss_fn, metrics=["accuracy"])
    >>> history = model.fit(x_train[:256], y_train[:256], epochs=2, verbose=0)
    >>> sorted(history.history)
    ['accuracy', 'loss', 'lr']

This module holds the Model itself: construction, the call, ``compile``, ``build``
and ``summary``. Training (``fit``, ``evaluate``, ``predict``, and the
``train_step`` / ``test_step`` / ``predict_step`` a subclass may override) is the
``Trainer`` it inherits (``somanet.train.trainer``); what ``compile`` resolves its
arguments into is in ``somanet.train.compile_utils``.
"""
import inspect

from .._checks import check_choice, check_real
from ..autograd import no_grad
from ..backend import CPU, device_of, get_default_dtype
from ..io import load_weights, save_weights
from ..nn.module import Module, Symbolic
from ..optim import Optimizer
from ..optim.optimizer import pick_lr
from ..tensor import Tensor
from . import optimizers
from .compile_utils import CompileConfig, CompiledMetrics
from .saving import save_model
from .trainer import Trainer


class Model(Trainer, Module):
    """A trainable model with the Keras workflow: ``compile``, ``fit``, ``evaluate``,
    ``predict``, ``summary``.

    Subclass it like any Module::

        class Classifier(sn.Model):
            def __init__(self):
                super().__init__()
                self.hidden = nn.Dense(64, activation="relu")
                self.out = nn.Dense(10)

            def forward(self, x):
                return self.out(self.hidden(x))

    or call ``Model(inputs, outputs)`` with ``Input`` placeholders (the functional API).

    Attributes:
        optimizer: the Optimizer (``None`` until the model is built and compiled).
        history: the ``History`` of the last ``fit``.
        stop_training: set to True (by a callback) to end ``fit`` after the current batch.
    """

    integer_input = None  # None: decided by the layers (see _takes_integers)
    optimizer = None
    history = None
    stop_training = False
    name = None
    _compiled = None  # a CompileConfig
    _compiled_metrics = None  # a CompiledMetrics
    _input_specs = None  # [(sample shape, dtype)] per input, once known
    _output_names = None  # what the user set model.output_names to

    def __new__(cls, *args, **kwargs):
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            from .functional import Functional  # Model(inputs, outputs): the functional API
            return super().__new__(Functional)
        return super().__new__(cls)

    def __init__(self, *args, name=None, **kwargs):
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__ takes only name=; for the "
                            f"functional API call Model(inputs, outputs) with Input "
                            f"placeholders, got {len(args)} positional argument(s)"
                            + (f" and {sorted(kwargs)}" if kwargs else ""))
        super().__init__()
        self.name = name

    def forward(self, *args, **kwargs):
        call = getattr(self, "call", None)  # Keras's name for forward
        if call is not None:
            return call(*args, **kwargs)
        raise NotImplementedError(f"{type(self).__name__} has no forward(); define "
                                  f"forward(self, x) (or Keras's call(self, x)) in the subclass")

    def __call__(self, *args, **kwargs):
        # The model boundary, as Keras's: NumPy arrays become Tensors on the model's device
        # (dtype policy: float64 -> float32), and integer or bool features become the
        # default float dtype, once, here (but for an input the model declares integer:
        # see integer_input).
        if args and (len(args) > 1 or type(args[0]) is not Tensor
                     or args[0].data.dtype.kind in "biu"):
            args = self._boundary(args)
        return super().__call__(*args, **kwargs)

    def _boundary(self, args):
        if len(args) == 1 and type(args[0]) in (list, tuple):  # model([x1, x2])
            return (type(args[0])(self._boundary(tuple(args[0]))),)
        converted = []
        for index, arg in enumerate(args):
            if _is_plain_array(arg):
                # host data goes where the model computes, as fit and predict send it there
                device = self._device() if device_of(arg) is CPU else None
                dtype = None if arg.dtype.kind == "f" or self._takes_integers(index) \
                    else get_default_dtype()
                arg = Tensor(arg, dtype=dtype, device=device)
            elif isinstance(arg, Tensor) and arg.data.dtype.kind in "biu" and \
                    not self._takes_integers(index):
                arg = arg.astype(get_default_dtype())
            converted.append(arg)
        return tuple(converted)

    def _takes_integers(self, index):
        """Whether input ``index`` is integer data by nature (token ids for an Embedding),
        passed to the layers as it is. A Model subclass may say so with ``integer_input =
        True`` (or ``False``); by default it does when any layer inside takes integers
        (``nn.Embedding``). ``Sequential`` asks its first layer, a functional model the
        dtype of each ``Input``."""
        declared = type(self).integer_input
        if declared is not None:
            return bool(declared)
        return any(module.integer_input is True for module in self.modules()
                   if module is not self)

    # -- compile ----------------------------------------------------------------------------------

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                learning_rate=None, jit=False, *, lr=None):
        """Choose the optimiser, the loss and the metrics for ``fit`` and ``evaluate``.

        Args:
            optimizer: a name (``"sgd"``, ``"adam"``, ``"adamw"``, ``"rmsprop"``,
                ``"adagrad"``, ``"rprop"``, ``"manhattan"``; Keras's default learning
                rates), an ``Optimizer`` made without parameters (Keras style:
                ``sn.optim.SGD(lr=0.1)``, bound to this model's parameters here, or at
                ``fit`` when the model is built then), an ``Optimizer`` made for this
                model's parameters, an Optimizer class, or a function
                ``params -> Optimizer``. Default ``"rmsprop"`` (Keras).
            loss: a name (``"mse"``, ``"mae"``, ``"sse"``, ``"huber"``,
                ``"binary_crossentropy"``, ``"categorical_crossentropy"``,
                ``"sparse_categorical_crossentropy"``; the cross-entropies expect
                probabilities, as in Keras), a ``losses`` object
                (``losses.SparseCategoricalCrossentropy(from_logits=True)``), an nn loss
                module (``nn.CrossEntropyLoss()``) or a function. Argument order: Keras
                objects and plain functions are called ``loss(y_true, y_pred)``; nn
                modules and ``somanet.ops`` functions ``loss(y_pred, y_true)`` (PyTorch's
                order), as they are written. For a model with several outputs, a list
                with one loss per output, a dict by output name (``output_names``), or
                one loss used for each.
            metrics: a list of metric names (``"accuracy"``...) or Metric objects
                (``somanet.train.metrics``); with several outputs each metric is tracked
                per output, logged as ``<output name>_<metric>``, besides each output's
                own loss, ``<output name>_loss`` (the names are ``output_names``).
            loss_weights: for several outputs, the weight of each output's loss in the
                total ``loss`` (default 1 each); a list, or a dict by output name.
            learning_rate: overrides the optimiser's learning rate (``lr=`` is the same;
                give one of them).
            jit: ``True`` makes ``fit``, ``evaluate`` and ``predict`` run compiled steps
                (``somanet.graph.compile``: each step captured once per batch shape and
                replayed as array code, with eager's results bit for bit; after 50
                replays, lowered to native code where numba is installed, with eager's
                results within float32 round-off); a step that cannot be compiled runs
                eagerly after one ``CompileWarning``.
                ``"strict"``: raise instead. Default ``False`` (eager).
        """
        optimizers.check(optimizer)
        learning_rate = pick_lr("compile", lr, learning_rate, None)
        loss = self._by_output("loss", loss)
        loss_weights = self._by_output("loss_weights", loss_weights)
        check_choice("compile", "jit", jit, (False, True, "strict"))
        if loss is None:
            raise TypeError("compile: loss is required, e.g. loss='mse' or "
                            "loss=losses.SparseCategoricalCrossentropy(from_logits=True)")
        if metrics is None:
            metrics = []
        elif isinstance(metrics, (str, bytes)) or not isinstance(metrics, (list, tuple)):
            metrics = [metrics]
        if learning_rate is not None:
            learning_rate = check_real("compile", "learning_rate", learning_rate, minimum=0.0,
                                       what="a non-negative number")
        if loss_weights is not None:
            loss_weights = [float(weight) for weight in loss_weights]
        self._compiled = CompileConfig(optimizer, loss, list(metrics), loss_weights,
                                       learning_rate, jit)
        self._jit_steps = {}
        # Create the metrics now, so an unknown name fails at compile time.
        self._compiled_metrics = CompiledMetrics(self._compiled)
        self.optimizer = None
        has_parameters = self.is_built and any(True for _ in self.parameters())
        if isinstance(optimizer, Optimizer) and (optimizer.built or not has_parameters):
            # made for the parameters, or bound to them at fit (Keras keeps the object too)
            self.optimizer = optimizers.get(optimizer, (), learning_rate) if optimizer.built \
                else optimizer
        elif has_parameters:
            self.optimizer = optimizers.get(optimizer, self.parameters(), learning_rate)
        self.stop_training = False

    @property
    def output_names(self):
        """The names of the model's outputs, which name their logs when there are several
        (``<name>_loss``, ``<name>_accuracy``... in ``History``, as Keras): what it was
        set to (``model.output_names = ["digit", "parity"]``), else for a functional
        model each output layer's name in the model (its ``name`` if it has one, such as
        a nested Model's, else its attribute name: ``linear_2``), else ``None`` (then
        ``output_0``, ``output_1``...)."""
        if self._output_names is not None:
            return list(self._output_names)
        return self._default_output_names()

    @output_names.setter
    def output_names(self, names):
        if names is None:
            self._output_names = None
            return
        if isinstance(names, str) or not isinstance(names, (list, tuple)) or not all(
                isinstance(name, str) and name and name.strip() == name for name in names):
            raise TypeError(f"output_names must be a list of non-empty names (strings), one "
                            f"per output, got {names!r:.80}")
        if len(set(names)) != len(names):
            raise ValueError(f"output_names must be distinct (each names its own logs), got "
                             f"{list(names)}")
        known = self._default_output_names()
        if known is not None and len(known) != len(names):
            raise ValueError(f"output_names: the model has {len(known)} output(s), got "
                             f"{len(names)} name(s) ({list(names)})")
        self._output_names = list(names)

    def _default_output_names(self):
        return None

    def _output_names_for(self, count):
        """The output names for a model seen to have ``count`` outputs."""
        names = self.output_names
        if names is None:
            return [f"output_{index}" for index in range(count)]
        if len(names) != count:
            raise ValueError(f"output_names has {len(names)} name(s) ({names}) but the model "
                             f"has {count} output(s); give one name per output")
        return names

    def _by_output(self, what, value):
        """A dict keyed by output name (Keras's ``loss={"digit": ..., "parity": ...}``) as
        the list in output order; anything else as it is."""
        if not isinstance(value, dict):
            return value
        names = self.output_names
        if names is None:
            raise ValueError(f"compile: {what} is a dict, but this model's outputs have no "
                             f"names yet; set model.output_names = [...] first, or give a "
                             f"list in output order")
        unknown = [key for key in value if key not in names]
        if unknown:
            raise ValueError(f"compile: {what} names the output(s) {unknown}; the outputs are "
                             f"{names}")
        if what == "loss":
            missing = [name for name in names if name not in value]
            if missing:
                raise ValueError(f"compile: loss gives no loss for the output(s) {missing}; "
                                 f"give one for each of {names}")
            return [value[name] for name in names]
        return [value.get(name, 1.0) for name in names]

    @property
    def compiled(self):
        """Whether ``compile`` has been called."""
        return self._compiled is not None

    @property
    def loss(self):
        """The loss given to ``compile`` (``None`` before)."""
        return None if self._compiled is None else self._compiled.loss_identifier

    @property
    def metrics(self):
        """The Metric objects ``fit`` and ``evaluate`` update."""
        return [] if self._compiled_metrics is None else list(self._compiled_metrics.objects)

    @property
    def metrics_names(self):
        """The names in the logs: ``["loss", <metric names>...]``."""
        names = [] if self._compiled_metrics is None else self._compiled_metrics.names
        return ["loss"] + list(names)

    def _require_compiled(self, who):
        if self._compiled is None:
            raise RuntimeError(f"{who}: the model is not compiled; call model.compile("
                               f"optimizer='adam', loss=..., metrics=['accuracy']) before "
                               f"{who}()")


    # -- building, summary ------------------------------------------------------------------------

    def build(self, input_shape, dtype=None):
        """Build the lazy layers (and record the input shape) by running the model on a
        batch of one sample of zeros, in evaluation mode and without gradients; a shape
        the model cannot take raises the layer's error.

        Args:
            input_shape: the batch shape, Keras style (``(None, 28, 28)``; the first entry
                is ignored; ``None`` entries are run as 1), or a list of them for several
                inputs.
            dtype: the input dtype (default: the default float dtype), or a list of them
                for several inputs.

        Returns:
            The model.
        """
        shapes = input_shape if _is_shape_list(input_shape) else [input_shape]
        dtypes = list(dtype) if isinstance(dtype, (list, tuple)) else [dtype] * len(shapes)
        if len(dtypes) != len(shapes):
            raise ValueError(f"build: {len(shapes)} input shape(s) but {len(dtypes)} dtypes")
        specs = []
        for shape, kind in zip(shapes, dtypes):
            shape = tuple(shape)
            if not shape:
                raise ValueError(f"build: input_shape {input_shape!r} has no batch axis; give "
                                 f"e.g. (None, 28, 28)")
            specs.append((tuple(None if s is None else int(s) for s in shape[1:]), kind))
        # on the parameters' device: a built model on a GPU takes GPU inputs
        self._dry_run(example_inputs([(tuple(1 if s is None else s for s in shape), kind)
                                      for shape, kind in specs], self._device()))
        self._input_specs = specs
        return self

    @property
    def input_specs(self):
        """``[(sample shape, dtype)]``, one per input, once known (from ``Input``, a first
        layer's ``input_shape=``, ``build`` or the first batch); ``None`` before. A
        ``None`` in a shape is a size not fixed; a ``None`` dtype the default float."""
        return None if self._input_specs is None else list(self._input_specs)

    def summary(self, input_shape=None, print_fn=None):
        """Print a table of the layers: name and type, output shape, parameter count,
        and the totals (trainable and non-trainable).

        Output shapes come from a dry run on one sample of zeros, when the input shape
        is known (from ``Input``, ``input_shape=``, ``build``, ``fit`` / ``evaluate``,
        or the ``input_shape`` argument, a per-sample shape like ``(28, 28)``); otherwise
        the table says so, and lazy layers not built yet show no parameters.

        Args:
            input_shape: the shape of one sample (without the batch axis), if not known.
            print_fn: called with the table's text (default ``print``).
        """
        from .summary import summarize
        text = summarize(self, input_shape)
        (print_fn or print)(text)

    # -- saving ---------------------------------------------------------------------------------

    def save(self, path, include_optimizer=True):
        """Save the whole model into the folder ``path``: the architecture as JSON, the
        weights as safetensors, the compile settings and (with ``include_optimizer``) the
        optimiser's state; ``somanet.load_model(path)`` rebuilds it, ready to predict or
        to go on training. No pickle: see ``somanet.train.saving`` for the folder's
        contents and ``somanet.register_layer`` for your own layers.

            >>> model.save("my_model")                          # doctest: +SKIP
            >>> model = sn.load_model("my_model")               # doctest: +SKIP
        """
        save_model(path, self, include_optimizer=include_optimizer)

    def save_weights(self, path, layout="somanet"):
        """Save the weights alone (``state_dict()``) to the safetensors file ``path``, as
        ``somanet.io.save_weights(path, model, layout=layout)``; ``layout="torch"``
        writes them as the equivalent PyTorch model names and lays them out."""
        save_weights(path, self, layout=layout)

    def load_weights(self, path, strict=True, layout=None):
        """Load the safetensors file ``path`` into this model, in place, as
        ``somanet.io.load_weights(path, model, strict=strict, layout=layout)``: checked
        against the model before anything is changed; ``layout="torch"`` reads a
        PyTorch ``state_dict`` file. Returns ``(missing_keys, unexpected_keys)``."""
        return load_weights(path, self, strict=strict, layout=layout)

    def _device(self):
        """The device of the model's parameters, or of its buffers for a model that has
        none (LAMSTAR's memory); ``None`` before a lazy model is built: it builds on its
        first input's device, the CPU for NumPy data."""
        for kind in ("_parameters", "_buffers"):
            for module in self.modules():
                for tensor in getattr(module, kind).values():
                    if tensor is not None:
                        return tensor.device
        return None

    def _num_inputs(self):
        """How many of a batch's leading fields are inputs: the number of required
        positional parameters of ``forward`` (at least 1)."""
        if self._input_specs:
            return len(self._input_specs)
        try:
            parameters = inspect.signature(self.forward).parameters.values()
        except (TypeError, ValueError):
            return 1
        required = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY,
                                                        p.POSITIONAL_OR_KEYWORD)
                    and p.default is p.empty]
        return max(1, len(required))

    def _dry_run(self, x):
        """The output for ``x`` (a batch of one) in evaluation mode, without gradients: it
        builds lazy layers and raises the layer's error (with its path) for a bad shape."""
        inputs = x if isinstance(x, tuple) else (x,)
        modes = [(module, module.training) for module in self.modules()]
        self.eval()
        try:
            with no_grad():
                outputs = self(*inputs)
        finally:
            for module, mode in modes:
                module.training = mode
        if not self._input_specs or len(self._input_specs) != len(inputs):
            self._input_specs = [(tuple(value.shape[1:]), value.dtype) for value in inputs]
        return outputs

    def _call_model(self, x):
        return self(*x) if isinstance(x, tuple) else self(x)


def example_inputs(specs, device=None):
    """A batch of one sample of zeros per input on ``device`` (default the CPU): ``specs``
    is ``[(sample shape, dtype)]`` (``dtype`` ``None``: the default float dtype). One
    Tensor, or a tuple for several."""
    from ..ops import zeros
    tensors = tuple(zeros(1, *shape, dtype=dtype, device=device) for shape, dtype in specs)
    return tensors[0] if len(tensors) == 1 else tensors


def _is_plain_array(value):
    return (not isinstance(value, (Tensor, Symbolic)) and hasattr(value, "shape")
            and hasattr(value, "dtype") and hasattr(value, "__array__"))


def _is_shape_list(value):
    return isinstance(value, (list, tuple)) and len(value) > 0 and all(
        isinstance(item, (list, tuple)) for item in value)
