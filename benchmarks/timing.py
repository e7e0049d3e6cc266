"""Timing two frameworks side by side on a shared machine (``conv.py``, ``lstm.py``).

The frameworks take turns a block of runs each, not run after run: both keep their idle
BLAS threads spinning for a while after a parallel call (OpenBLAS's up to ~0.1 s), and on
a 2-core machine those spinning threads take the core the other framework's next
parallel call waits for (2-10x slowdowns on both sides, measured). A pause before each
block lets them go to sleep, as they would in a program that uses one framework.
"""
import statistics
import time

# Idle OpenBLAS threads spin for 2**28 cycles (~0.1 s) before they sleep.
PAUSE_SECONDS = 0.15
# After a pause a virtual CPU runs slowly for a while (measured: im2col of conv2 1.1
# instead of 0.42 ms right after a sleep): warm up for at least this long.
WARMUP_SECONDS = 0.05


def milliseconds(functions, repeat, warmup, rounds=5):
    """The median time of each function, in ms. The functions take turns, a block of
    runs each (``repeat`` runs in ``rounds`` blocks), so a machine that is busy in
    bursts slows them alike; before its block each pauses (the other's idle threads go
    to sleep) and runs untimed ``warmup`` times and for at least WARMUP_SECONDS."""
    times = [[] for _ in functions]
    rounds = max(1, min(rounds, repeat))
    for block in range(rounds):
        runs = repeat // rounds + (block < repeat % rounds)
        for function, found in zip(functions, times):
            time.sleep(PAUSE_SECONDS)
            start, done = time.perf_counter(), 0
            while done < warmup or time.perf_counter() - start < WARMUP_SECONDS:
                function()
                done += 1
            for _ in range(runs):
                start = time.perf_counter()
                function()
                found.append(time.perf_counter() - start)
    return [statistics.median(found) * 1e3 for found in times]
