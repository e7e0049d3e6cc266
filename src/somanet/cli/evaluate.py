"""``somanet evaluate RUN_DIR``: a trained run's loss and accuracy on its test split."""
from .data import DATASET_FORMS, load_data
from .errors import CommandError
from .help import DefaultsOnceFormatter
from .model import compile_model, loss_and_accuracy, on_device, resolve_device
from .runs import load_run


def add_parser(commands):
    """Add ``evaluate`` and its options to the ``commands`` subparsers."""
    evaluate = commands.add_parser(
        "evaluate", help="test loss and accuracy of a trained run",
        description="Rebuild a run's model from RUN_DIR/config.json, load its weights and "
                    "report loss and accuracy on the test split of its dataset.",
        formatter_class=DefaultsOnceFormatter)
    evaluate.add_argument("run_dir", metavar="RUN_DIR")
    evaluate.add_argument("--dataset", help=f"evaluate on another image dataset "
                                            f"({DATASET_FORMS})")
    evaluate.add_argument("--device", default="cpu", help="cpu, gpu or gpu:N")
    evaluate.set_defaults(handler=cmd_evaluate)
    return evaluate


def cmd_evaluate(args):
    """``somanet evaluate RUN_DIR``: loss and accuracy on the test split of the run's data."""
    config, model = load_run(args.run_dir, args.device)
    spec = args.dataset or config["dataset"]
    if config["preprocessing"]["kind"] == "tabular":
        if args.dataset:
            raise CommandError("--dataset cannot change the data of a CSV run (its encoding "
                               "is fitted to that file)")
        found = load_data(spec, config["target"], config["categorical"], config["seed"],
                          config["limit"])
        encoder = config["preprocessing"]["encoder"]
        if found.preprocessing["encoder"]["features"] != encoder["features"] or \
                found.class_names != config["class_names"]:
            raise CommandError(f"{spec} no longer matches the run (its columns or classes "
                               f"changed since training)")
    else:
        found = load_data(spec, limit=None if args.dataset else config["limit"])
        if found.tabular:
            raise CommandError(f"{args.run_dir} holds an image model; --dataset {spec} is "
                               f"tabular")
    labels = found.y_test
    if labels.size and int(labels.max()) >= config["num_classes"]:
        raise CommandError(f"{spec} has labels up to {int(labels.max())}; the model knows "
                           f"{config['num_classes']} classes")
    compile_model(model)
    target = resolve_device(args.device)
    loss, accuracy = loss_and_accuracy(model, on_device(found.x_test, target),
                                       on_device(labels, target), config["batch_size"])
    print(f"{args.run_dir}: {config['model']} on {spec} (test, {len(labels):,} samples): "
          f"loss {loss:.4f}, accuracy {accuracy:.4f}")
    return 0
