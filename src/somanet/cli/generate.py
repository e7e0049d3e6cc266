"""``somanet generate RUN_DIR --prime TEXT``: write text with a trained char-lstm run."""
from .. import models
from ..data.text import Vocabulary
from .errors import CommandError
from .model import TEXT_MODEL
from .runs import load_run


def add_parser(commands):
    """Add ``generate`` and its options to the ``commands`` subparsers."""
    generate = commands.add_parser(
        "generate", help="write text with a trained character language model",
        description=f"Continue --prime with --length characters drawn from a run trained "
                    f"with --model {TEXT_MODEL}: each character from softmax(logits / "
                    f"temperature), only the --top-k most likely if given, then fed back in. "
                    f"Prints the prime and what follows.")
    generate.add_argument("run_dir", metavar="RUN_DIR")
    generate.add_argument("--prime", default=None,
                          help="the text to start from (default: a new line)")
    generate.add_argument("--length", type=int, default=500,
                          help="characters to write (default 500)")
    generate.add_argument("--temperature", type=float, default=0.8,
                          help="below 1 safer, above 1 wilder; 0 always the likeliest "
                               "(default 0.8)")
    generate.add_argument("--top-k", type=int, default=None, metavar="K",
                          help="draw only from the K likeliest characters")
    generate.add_argument("--seed", type=int, default=None,
                          help="the same seed writes the same text (default: random)")
    generate.add_argument("--device", default="cpu", help="cpu, gpu or gpu:N")
    generate.set_defaults(handler=cmd_generate)
    return generate


def cmd_generate(args):
    """``somanet generate RUN_DIR``: print ``--prime`` and ``--length`` characters after it."""
    if args.length < 0:
        raise CommandError(f"--length must be at least 0, got {args.length}")
    if not args.temperature >= 0:
        raise CommandError(f"--temperature must be 0 or more, got {args.temperature}")
    if args.top_k is not None and args.top_k < 1:
        raise CommandError(f"--top-k must be at least 1, got {args.top_k}")
    config, model = load_run(args.run_dir, args.device)
    if config["preprocessing"]["kind"] != "text":
        raise CommandError(f"{args.run_dir} holds a {config['model']} trained on "
                           f"{config['dataset']}; generate needs a run of somanet train "
                           f"--model {TEXT_MODEL}")
    vocab = Vocabulary(config["preprocessing"]["vocabulary"])
    prime = args.prime
    if prime is None:
        prime = "\n" if "\n" in vocab else vocab.chars[0]
    if not prime:
        raise CommandError("--prime is empty; give the text to start from")
    missing = vocab.unknown(prime)
    if missing:
        raise CommandError(f"--prime holds {', '.join(repr(c) for c in missing[:10])}, not "
                           f"among the {len(vocab)} characters the model was trained on "
                           f"({vocab.chars!r})")
    text = models.generate(model, vocab, prime, length=args.length,
                           temperature=args.temperature, top_k=args.top_k, seed=args.seed)
    print(text)
    return 0
