"""``somanet evaluate RUN_DIR``: a trained run's loss and accuracy on its test split (for a
text run also its bits per character on the held-out text)."""
from .. import models
from . import architectures
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
    evaluate.add_argument("--judge", metavar="RUN_DIR",
                          help="for a gan or dcgan run: a classifier run (e.g. somanet train "
                               "--model lenet) that labels 1,000 generated digits; reports "
                               "the share it labels with confidence >= 0.9 and the classes "
                               "those cover")
    evaluate.set_defaults(handler=cmd_evaluate)
    return evaluate


def cmd_evaluate(args):
    """``somanet evaluate RUN_DIR``: loss and accuracy on the test split of the run's data."""
    config, model = load_run(args.run_dir, args.device)
    spec = args.dataset or config["dataset"]
    zoo = architectures.get(config["model"])
    if args.judge is not None and (zoo is None or zoo.name not in ("gan", "dcgan")):
        raise CommandError(f"--judge scores a gan's or dcgan's samples; {args.run_dir} holds "
                           f"a {config['model']} run")
    if zoo is not None:
        return _evaluate_architecture(zoo, args, config, model, spec)
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
    elif config["preprocessing"]["kind"] == "text":
        found = load_data(spec, limit=None if args.dataset else config["limit"],
                          vocabulary=config["preprocessing"]["vocabulary"])
        if not found.text:
            raise CommandError(f"{args.run_dir} holds a character language model; --dataset "
                               f"{spec} is not text (shakespeare or text:FILE)")
    else:
        found = load_data(spec, limit=None if args.dataset else config["limit"])
        if found.text:
            raise CommandError(f"{args.run_dir} holds an image model; --dataset {spec} is "
                               f"text")
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
    if found.text:
        bits = models.bits_per_character(model, found.validation_ids)
        print(f"{args.run_dir}: {bits:.3f} bits per character on the held-out text")
    return 0


def _evaluate_architecture(zoo, args, config, model, spec):
    """What fits the architecture (``cli.architectures``) on the test split."""
    found = load_data(spec, limit=None if args.dataset else config["limit"])
    if found.tabular:
        raise CommandError(f"{args.run_dir} holds a {zoo.name}, which takes images; "
                           f"--dataset {spec} is tabular")
    if zoo.classifier or zoo.name in ("dsn", "lamstar"):
        labels = found.y_test
        if labels.size and int(labels.max()) >= config["num_classes"]:
            raise CommandError(f"{spec} has labels up to {int(labels.max())}; the model "
                               f"knows {config['num_classes']} classes")
    if args.judge is not None:
        judge_config, judge = load_run(args.judge, args.device)
        judge_zoo = architectures.get(judge_config["model"])
        if judge_config["preprocessing"]["kind"] != "image" or (
                judge_zoo is not None and not judge_zoo.classifier):
            raise CommandError(f"--judge {args.judge} holds a {judge_config['model']} run "
                               f"on {judge_config['dataset']}; the judge must be an image "
                               f"classifier (mlp, lenet, lstm, dbn or cdbn)")
        if judge_config["num_classes"] != 10:
            raise CommandError(f"--judge {args.judge} knows {judge_config['num_classes']} "
                               f"classes; the digits have 10")
        scores, text = zoo.evaluate(model, found, config["batch_size"],
                                    judge=(f"{judge_config['model']} of {args.judge}", judge))
    else:
        scores, text = zoo.evaluate(model, found, config["batch_size"])
    print(f"{args.run_dir}: {zoo.name} on {spec} (test, {len(found.y_test):,} samples): "
          f"{text}")
    return 0
