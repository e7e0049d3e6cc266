"""The guardian: a small process that names a rank killed from outside.

A rank killed with ``SIGKILL`` (or by the out-of-memory killer) can print nothing, and
the launcher then kills every other rank at once, so no rank of the job is left to say
which one it was (and the launcher's own report of the pid is not reliable). So rank 0
starts this guardian, outside the job's process group, when MPI starts: every rank on
rank 0's machine connects to it over a Unix socket and sends its rank and pid (the
record), keeps the connection open while it lives, and says ``bye`` when it exits
normally or ``failed`` after reporting its own error. A connection that closes without
either belongs to a rank that died without a word: the guardian prints, once,

    somanet.distributed: rank 1 (pid 4242 on node7) died without a Python error ...

on rank 0's standard error (which the launcher forwards), and exits when every rank
has gone. Only the first such rank is named: the others were stopped by the launcher.

This file is run as a script (``python guardian.py SOCKET RANKS``) and imports only the
standard library, so it starts in milliseconds and holds no numerical libraries.
"""
import json
import os
import select
import socket
import sys
import time

ACCEPT_SECONDS = 120.0  # how long the ranks have to connect after the start


def serve(path, expected, out=sys.stderr):
    """Listen on the Unix socket ``path`` for ``expected`` ranks; return when every rank
    that connected has disconnected, or, before any did, when ``ACCEPT_SECONDS`` have
    passed or the process that started the guardian (rank 0) is gone. (It must not
    linger: the launcher waits for the end of rank 0's output, which it holds.)"""
    parent = os.getppid()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(max(expected, 1))
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    peers = {}  # connection -> {"rank", "pid", "host", "said", "buffer"}
    accepted, begin = [0], time.monotonic()

    def poll(timeout):
        """Accept new ranks and read what has arrived; (anything ready, the ranks that
        closed their connection)."""
        waiting = [server] if accepted[0] < expected else []
        ready, _, _ = select.select(waiting + list(peers), [], [], timeout)
        gone = []
        for item in ready:
            if item is server:
                connection, _ = server.accept()
                peers[connection] = {"rank": None, "pid": None, "host": None,
                                     "said": None, "buffer": b""}
                accepted[0] += 1
                continue
            try:
                data = item.recv(4096)
            except OSError:
                data = b""
            if data:
                _read(peers[item], data)
            else:
                gone.append(peers.pop(item))
                item.close()
        return bool(ready), gone

    reported = False
    try:
        while peers or (accepted[0] == 0 and time.monotonic() - begin < ACCEPT_SECONDS
                        and os.getppid() == parent):
            _, gone = poll(1.0)
            if gone and not reported:
                # Before taking a close for a kill, read what every rank had already sent:
                # a rank's "failed" precedes the MPI_Abort that closes the others, but it
                # may sit unread on a connection not yet accepted or not yet polled.
                ready = True
                while ready:
                    ready, more = poll(0)
                    gone += more
            if any(peer["said"] == "failed" for peer in list(peers.values()) + gone):
                reported = True  # a rank reported its own error: the rest is cleanup
            silent = [peer for peer in gone if peer["said"] is None and peer["rank"] is not None]
            if silent and not reported:
                reported = True
                _report(silent, out)
    finally:
        server.close()


def _report(silent, out):
    """Name the rank (or, when several went at the same moment, the ranks) that died."""
    named = " or ".join(f"rank {peer['rank']} (pid {peer['pid']} on {peer['host']})"
                        for peer in sorted(silent, key=lambda peer: peer["rank"]))
    out.write(f"somanet.distributed: {named} died without a Python error: it was killed "
              f"(SIGKILL, the out-of-memory killer) or crashed in native code; the launcher "
              f"stops the other ranks\n")
    out.flush()


def _read(peer, data):
    peer["buffer"] += data
    while b"\n" in peer["buffer"]:
        line, peer["buffer"] = peer["buffer"].split(b"\n", 1)
        text = line.decode("utf-8", "replace").strip()
        if peer["rank"] is None:
            try:
                record = json.loads(text)
                peer.update(rank=int(record["rank"]), pid=int(record["pid"]),
                            host=str(record["host"]))
            except (ValueError, KeyError, TypeError):
                pass
        elif text in ("bye", "failed"):
            peer["said"] = text


def main(argv):
    path, expected = argv[1], int(argv[2])
    try:
        serve(path, expected)
    finally:
        for remove in (os.remove, os.rmdir):
            try:
                remove(path if remove is os.remove else os.path.dirname(path))
            except OSError:
                pass


if __name__ == "__main__":
    main(sys.argv)
