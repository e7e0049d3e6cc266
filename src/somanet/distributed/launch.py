"""How this process was started: read from the environment variables MPI launchers set.

Nothing here imports mpi4py: a script started with plain ``python`` never pays for
MPI, and ``somanet.distributed`` imports mpi4py only when ``detect_launch`` finds a
launcher that started more than one process.

    >>> detect_launch({"PMI_RANK": "1", "PMI_SIZE": "4"})
    Launch(size=4, rank=1, launcher='MPICH/Intel MPI mpiexec (hydra)')
    >>> detect_launch({}) is None
    True
"""
from collections import namedtuple

Launch = namedtuple("Launch", ["size", "rank", "launcher"])
Launch.__doc__ = """An MPI launch seen in the environment: ``size`` processes, this one ``rank``,
started by ``launcher`` (a name for messages)."""

# (variable holding the number of processes, variable holding this process's rank, launcher).
# Checked in this order; the first whose two variables are both set wins. Slurm's batch
# script has SLURM_NTASKS and SLURM_PROCID too, but only a job step started by srun has
# SLURM_STEP_NUM_TASKS, so `python train.py` inside an sbatch script stays one process.
LAUNCHERS = (
    ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "Open MPI mpiexec"),
    ("PMI_SIZE", "PMI_RANK", "MPICH/Intel MPI mpiexec (hydra)"),
    ("MV2_COMM_WORLD_SIZE", "MV2_COMM_WORLD_RANK", "MVAPICH mpiexec"),
    ("SLURM_STEP_NUM_TASKS", "SLURM_PROCID", "Slurm srun"),
)


def detect_launch(environ):
    """The MPI launch described by ``environ`` (a mapping such as ``os.environ``), or
    ``None`` when no MPI launcher started this process.

    Raises:
        ValueError: a launcher's variables are set but are not a valid size and rank.
    """
    for size_name, rank_name, launcher in LAUNCHERS:
        size_text, rank_text = environ.get(size_name), environ.get(rank_name)
        if size_text is None or rank_text is None:
            continue
        try:
            size, rank = int(size_text), int(rank_text)
        except ValueError:
            raise ValueError(f"somanet.distributed: {size_name}={size_text!r} and "
                             f"{rank_name}={rank_text!r} should be integers ({launcher} sets "
                             f"them); unset them to run as one process") from None
        if size < 1 or not 0 <= rank < size:
            raise ValueError(f"somanet.distributed: {size_name}={size} and {rank_name}={rank} "
                             f"are not a valid number of processes and rank; expected "
                             f"0 <= rank < size")
        return Launch(size, rank, launcher)
    return None
