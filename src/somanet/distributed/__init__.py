"""Layer 4, the parallelisation layer: data-parallel training over MPI (mpi4py).

The same script trains on one process, on several processes of one machine, or
on a cluster: every process (a *rank*) holds a full copy of the model, trains on
its own share of each epoch, and before every update the gradients are averaged
over the ranks, so all copies stay identical (as in ChainerMN and Horovod, a wrapper
around the optimiser, not a second training loop)::

    import somanet as sn
    from somanet import distributed

    model = build_model()                                  # the same on every rank
    optimizer = sn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loader = sn.data.DataLoader(train_set, batch_size=128, shuffle=True, seed=1)
    optimizer, loader = distributed.prepare(model, optimizer, loader)
    for epoch in range(10):
        for x, y in loader:                                # this rank's 128 / W examples
            loss = sn.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()                               # mean gradient, then SGD
        distributed.save_checkpoint("run/checkpoint", model, optimizer, loader,
                                    epoch=epoch + 1)           # written by rank 0 only

``prepare`` checks that every rank built the same model, copies rank 0's weights
to all, wraps the optimiser in ``DistributedOptimizer`` and shards the loader
with a ``DistributedSampler`` (``batch_size`` stays the global batch). Launched
without MPI, it returns its arguments unchanged and mpi4py is not even imported.

Running it
----------
- One machine, MPI from PyPI (``pip install 'somanet[distributed]'`` installs
  ``mpi4py`` and the ``mpich`` wheel, whose ``mpiexec`` lands in the environment's
  ``bin``)::

      mpiexec -n 2 python my_script.py
      mpiexec -n 2 somanet train ...

  Give each process its share of the cores, e.g. one BLAS thread each:
  ``mpiexec -n 2 -genv OMP_NUM_THREADS 1 python my_script.py`` (MPICH) or
  ``mpiexec -n 2 -x OMP_NUM_THREADS=1 ...`` (Open MPI). On one machine a single
  process with all the cores is usually as fast: processes pay across machines.
- A cluster: use the cluster's MPI (Open MPI, Intel MPI, MVAPICH, Cray), not the
  ``mpich`` wheel, and build mpi4py against it, with that MPI's ``mpicc`` on PATH
  (``module load openmpi`` or similar)::

      pip uninstall mpich; pip install --no-binary mpi4py --force-reinstall mpi4py
      mpiexec -n 8 --hostfile hosts python my_script.py       # Open MPI
      mpirun -n 8 -ppn 4 -hosts a,b python my_script.py       # Intel MPI / MPICH
      srun -N 2 --ntasks-per-node=4 --mpi=pmix python my_script.py   # Slurm

  ``python -m mpi4py --mpi-lib-version`` names the MPI mpi4py runs on; it must be
  the launcher's (else every process starts alone, and somanet says so).
- GPUs: one rank per GPU (``model.to(f"gpu:{distributed.rank() % gpus_per_node}")``);
  with the parameters on a GPU the gradients are all-reduced GPU to GPU by NCCL
  (``somanet.backend.nccl``); MPI still starts the processes and hands out NCCL's
  unique id.

A launch is recognised from the variables launchers set (``PMI_RANK``/``PMI_SIZE``
for MPICH and Intel MPI, ``OMPI_COMM_WORLD_*`` for Open MPI, ``MV2_COMM_WORLD_*``,
``SLURM_STEP_NUM_TASKS``/``SLURM_PROCID`` for ``srun``). With more than one
process, MPI starts when this package is imported (``import somanet``).

- Spark: ``somanet.distributed.spark.run(train_fn, num_workers=N)`` runs the same code
  as N ranks on Spark barrier tasks, and ``spark.fit(model, dataframe, ...)`` trains on
  a DataFrame's partitions where they are (the ``spark`` extra; see that module).

Faults: fail fast, name the rank, lose nothing
----------------------------------------------
- An uncaught exception on any rank prints ``somanet.distributed: rank R failed:
  <error>`` after its traceback and ends every process (``MPI_Abort``); the
  launcher exits non-zero.
- A killed rank (``SIGKILL``, out of memory) cannot print; the launcher ends the job
  (MPICH's ``mpiexec`` does at once). On rank 0's machine somanet names it itself:
  rank 0 starts a small guardian process (``guardian.py``) to which every rank there
  sends its rank and pid at start and says goodbye at a normal exit, so a rank that
  vanishes is reported as ``rank R (pid P on host) died without a Python error``.
  Under a launcher that does not end the job, the ranks waiting for it notice within
  seconds (same machine) and fail with ``RankFailedError`` naming it.
- A rank that leaves early (``sys.exit``, the end of the script) while others wait
  in a collective makes them fail within seconds with ``RankFailedError``.
- A collective that waits longer than ``set_timeout(seconds)`` (default 300 s)
  raises ``CollectiveTimeoutError`` naming the ranks that have not arrived and
  those waiting in another collective.
- Checkpoints are written by rank 0 only (``save_checkpoint``), atomically: the
  last one written before a failure is intact. ``load_checkpoint`` on every rank
  resumes with the same number of ranks exactly where it stopped.

For ``fit`` (the whole API it needs, each a cheap no-op with one process)
--------------------------------------------------------------------------
- ``is_initialized()``, ``world_size()``, ``rank()``, ``is_main()``, ``barrier()``;
- ``prepare(model, optimizer, loader) -> (optimizer, loader)`` at the start of fit
  (``shard_loader(loader, split_batch=False, even=False)`` for validation data: an
  exact partition, then ``reduce_metrics``);
- ``reduce_metrics(metrics)``: sums every metric's ``get_state()`` over the ranks and
  ``set_state``s it, before ``result()`` at the end of an epoch (one all-reduce);
- ``reduce_logs(logs)``: the mean over ranks of every number in a logs dict;
- ``all_agree(flag)``: one stop decision (any rank stops -> all stop; ``rule="main"``:
  rank 0 decides);
- ``broadcast_object(value)``: rank 0's value (a run folder name) on every rank;
- ``save_checkpoint`` / ``load_checkpoint``: rank 0 writes; every rank resumes;
- ``DistributedOptimizer.reduce_gradients()`` before clipping gradients.
Printing, progress bars, logs, plots and checkpoints: only ``if is_main()``.
"""
from .collectives import (all_agree, allreduce, broadcast_object, broadcast_parameters,
                          check_same_model, reduce_logs, reduce_metrics)
from .communicator import (CollectiveTimeoutError, Communicator, DistributedError,
                           LocalCommunicator, MPICommunicator, RankFailedError, get_timeout,
                           set_timeout)
from .launch import detect_launch
from .optimizer import DistributedOptimizer
from .process import (barrier, communicator, is_initialized, is_main, rank, start_at_import,
                      world_size)
from .sampler import DistributedSampler
from .training import (check_same_checkpoint, load_checkpoint, prepare, save_checkpoint,
                       shard_loader)

__all__ = ["CollectiveTimeoutError", "Communicator", "DistributedError",
           "DistributedOptimizer", "DistributedSampler", "LocalCommunicator",
           "MPICommunicator", "RankFailedError", "all_agree", "allreduce", "barrier",
           "broadcast_object", "broadcast_parameters", "check_same_checkpoint",
           "check_same_model", "communicator", "detect_launch", "get_timeout",
           "is_initialized", "is_main", "load_checkpoint", "prepare", "rank",
           "reduce_logs", "reduce_metrics", "save_checkpoint", "set_timeout",
           "shard_loader", "world_size"]

start_at_import()  # under mpiexec/srun with several processes: start MPI now (see process.py)
