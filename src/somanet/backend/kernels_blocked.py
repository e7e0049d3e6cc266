"""Register-blocked direct convolution kernels (stride 1, groups, dilation, float32):
forward and weight gradient with the output channels in the vector lanes.

``kernels_direct`` multiplies whole shifted planes by scalar weights (eight a pass):
the accumulator plane is loaded and stored once per eight (15-25 GFLOP/s on LeNet's layers).
Here a kernel keeps a *tile* of ``T x V`` accumulators in registers through the
whole reduction: ``T`` output positions (or weight rows) times ``V = 16`` output
channels (one 512-bit float32 vector, two 256-bit ones). Each reduction step
loads one vector of ``V`` weights, broadcasts ``T`` input values and does ``T``
vector multiply-adds; the tile is written once at the end. The tile's code is
generated (``T * V`` scalar statements, compiled with ``jit.native_function``, on
disk like any numba cache) and LLVM's SLP vectoriser packs it into vector
instructions: numba's loop vectoriser only vectorises innermost loops, which cannot
keep accumulators in registers across an outer reduction.

The contract (the ``kernels_direct`` one, checked against its ``_xp`` versions in
``tests/backend``), on the padded input ``xp (N, C, Hp, Wp)`` and weight
``(C_out, C/groups, kh, kw)``:

- ``blocked_forward``: ``out[n, o, i, j] = b[o] + sum_{c,p,q} w[o, c, p, q] *
  xp[n, g*C/g + c, i + p*dh, j + q*dw]`` -> ``(N, C_out, Ho, Wo)``. Tiles are ``T``
  consecutive columns of one output row (the last one of a row moved left to end at
  ``Wo``, overlapping); reduction steps ``(c, p, q)`` are offsets into the sample's
  flattened input. Parallel over (sample, group, block of ``V`` output channels).
- ``blocked_weight_gradient``: ``dw[o, c, p, q] = sum_{n,i,j} grad[n, o, i, j] *
  xp[n, g*C/g + c, i + p*dh, j + q*dw]``: the tile is ``T`` weight rows ``(c, p, q)``
  times ``V`` output channels, the reduction runs over every sample and output
  position (the gradient transposed to ``(N, positions, V)`` so a step loads one
  vector). Parallel over tiles of rows; no partial sums to add.

``applies`` says whether they run: NumPy float32 arrays and a tile for the output
width (``Wo >= 8``); callers (``ops.convolution``) fall back to ``kernels_direct`` or
im2col otherwise. Each generated kernel (kind, tile width) takes 7-12 s to compile the
first time (numba then loads it from disk), so there are few of them: one lane count,
two forward tile widths, one weight-gradient tile, and no float64 forms (float64 layers
run im2col). Measured and not kept: the input gradient as a blocked forward of the
padded gradient with the flipped weight (1.3-1.9 ms on LeNet's conv2 against 1.36 ms for
im2col's GEMMs and col2im).
"""
import functools

import numpy

from . import jit

# The lanes V (output channels a tile holds), the forward's tile widths T and the
# weight rows a weight-gradient tile holds: 2 * T 32-byte registers of accumulators.
LANES = 16
_WIDTHS = (8, 10)
_ROWS_TILE = 10

_FORWARD = '''
import numpy as np
from numba import prange


def forward(x, wt, b, offs, tin, tout, first_step, stop_step, out):
    """x (N, S), wt (G, B, R, V), b (G, B, V), offs (G, R), tin/tout/first_step/stop_step
    (P,) -> out (N, O, L)."""
    n_batch = x.shape[0]
    groups, blocks = wt.shape[0], wt.shape[1]
    o_group = out.shape[1] // groups
    count_tiles = tin.shape[0]
    for task in prange(n_batch * groups * blocks):
        n = task // (groups * blocks)
        g = (task // blocks) % groups
        ob = task % blocks
        xs = x[n]
        ws = wt[g, ob]
        go = offs[g]
        bs = b[g, ob]
        tile = np.empty(({T}, {V}), x.dtype)
        first = g * o_group + ob * {V}
        count = min({V}, o_group - ob * {V})
        for index in range(count_tiles):
            s0 = tin[index]
{INIT}
            for r in range(first_step[index], stop_step[index]):
                xr = xs[s0 + go[r]:]  # unsigned offsets, literal indices: no wraparound
{LOAD_X}
                wv = ws[r]
{LOAD_W}
{FMA}
{STORE}
            d0 = tout[index]
            for o in range(count):
                for t in range({T}):
                    out[n, first + o, d0 + t] = tile[t, o]
'''

_WEIGHT = '''
import numpy as np
from numba import prange


def weight(x, gt, kin, toffs, out):
    """x (N, S), gt (N, G, B, P, V), kin (P,), toffs (G, RT, T) -> out (G, B, RT, T, V)."""
    n_batch = x.shape[0]
    groups, tiles_r = toffs.shape[0], toffs.shape[1]
    blocks = gt.shape[2]
    positions = kin.shape[0]
    for task in prange(groups * blocks * tiles_r):
        g = task // (blocks * tiles_r)
        ob = (task // tiles_r) % blocks
        rt = task % tiles_r
        to = toffs[g, rt]
        tile = np.zeros(({T}, {V}), out.dtype)
{OFFS}
{INIT}
        for n in range(n_batch):
            xs = x[n]
            gs = gt[n, g, ob]
            for pos in range(positions):
                xr = xs[kin[pos]:]
{LOAD_X}
                wv = gs[pos]
{LOAD_W}
{FMA}
{STORE_W}
'''


def _acc(t, o):
    return f"a{t}_{o}"


def _source(kind, tile, lanes):
    """The generated kernel source of ``kind`` ("forward" or "weight")."""

    def each(indent, line, over_lanes=True):
        """``line`` once per tile position t (and lane o), formatted with t, o and the
        accumulator's name a."""
        return "\n".join(" " * indent + line.format(t=t, o=o, a=_acc(t, o))
                         for t in range(tile) for o in (range(lanes) if over_lanes else (0,)))

    lines = dict(
        T=tile, V=lanes,
        LOAD_W="\n".join(" " * 16 + f"w{o} = wv[{o}]" for o in range(lanes)),
        FMA=each(16, "{a} += x{t} * w{o}"))
    if kind == "forward":
        lines.update(
            INIT=each(12, "{a} = bs[{o}]"),
            LOAD_X=each(16, "x{t} = xr[{t}]", over_lanes=False),
            # the tile in (position, channel) order: the stores SLP packs start from
            # consecutive channels, the lanes of the weight vectors
            STORE=each(12, "tile[{t}, {o}] = {a}"))
        text = _FORWARD
    else:
        lines.update(
            OFFS=each(8, "s{t} = to[{t}]", over_lanes=False),
            INIT=each(8, "{a} = tile[{t}, {o}]"),
            LOAD_X=each(16, "x{t} = xr[s{t}]", over_lanes=False),
            STORE_W=each(8, "out[g, ob, rt, {t}, {o}] = {a}"))
        text = _WEIGHT
    for key, value in lines.items():
        text = text.replace("{" + key + "}", str(value))
    return text


_COMPILED = {}


def _kernel(kind, tile, lanes, examples):
    """The compiled kernel for ``(kind, tile, lanes)`` and the examples' dtype, or None."""
    key = (kind, tile, lanes, examples[0].dtype.str)
    if key not in _COMPILED:
        numba = jit.numba_module()
        if numba is None:
            _COMPILED[key] = None
        else:
            options = dict(parallel=jit.parallel(numba), fastmath={"contract"})
            _COMPILED[key] = jit.native_function(_source(kind, tile, lanes), kind, examples,
                                                 options=options, slp=True)
    return _COMPILED[key]


def tile_width(width):
    """The tile width T for rows of ``width`` outputs (the least work, then the widest),
    or None when ``width`` is narrower than every compiled tile."""
    best = None
    for tile in _WIDTHS:
        if tile <= width:
            work = -(-width // tile) * tile
            if best is None or (work, -tile) < best[0]:
                best = ((work, -tile), tile)
    return None if best is None else best[1]


def applies(xp, out_width):
    """Whether ``blocked_forward`` runs on these operands (NumPy float32 arrays, a tile
    for ``out_width``)."""
    if type(xp) is not numpy.ndarray or xp.dtype != numpy.float32 or not jit.available():
        return False
    return tile_width(out_width) is not None


def _offsets(c_group, kernel_hw, dilation, hp, wp, kernel_row_major=False):
    """The flat offsets of the reduction steps (c, p, q) into one group's input planes,
    in that order, or (p, c, q) with ``kernel_row_major``."""
    kh, kw = kernel_hw
    c = numpy.arange(c_group).reshape(-1, 1, 1) * (hp * wp)
    p = numpy.arange(kh).reshape(1, -1, 1) * (dilation[0] * wp)
    q = numpy.arange(kw).reshape(1, 1, -1) * dilation[1]
    offs = c + p + q
    if kernel_row_major:
        offs = offs.transpose(1, 0, 2)
    return offs.reshape(-1).astype(numpy.uint64)


@functools.lru_cache(maxsize=64)
def _forward_plan(groups, c_group, kernel_hw, dilation, padded_hw, out_hw, tile, rows):
    """The forward kernel's index arrays: step offsets (G, R), and per tile its first
    input and output position and its range of steps (the kernel rows p whose input
    rows ``i + p*dh`` lie in ``rows``, the ones that may be nonzero)."""
    (kh, kw), (hp, wp), (ho, wo) = kernel_hw, padded_hw, out_hw
    offs = _offsets(c_group, kernel_hw, dilation, hp, wp, kernel_row_major=True)
    offs = offs + (numpy.arange(groups, dtype=numpy.uint64) * (c_group * hp * wp)).reshape(-1, 1)
    starts = numpy.minimum(numpy.arange(0, wo, tile), wo - tile)
    i = numpy.arange(ho).reshape(-1, 1)
    tin = (i * wp + starts).reshape(-1).astype(numpy.uint64)
    tout = (i * wo + starts).reshape(-1).astype(numpy.uint64)
    # p with rows[0] <= i + p*dh < rows[1]
    first = numpy.clip(-(-(rows[0] - i) // dilation[0]), 0, kh)
    stop = numpy.clip(-(-(rows[1] - i) // dilation[0]), 0, kh)
    stop = numpy.maximum(stop, first)
    per_p = c_group * kw
    first = numpy.broadcast_to(first * per_p, (ho, len(starts))).reshape(-1).astype(numpy.int64)
    stop = numpy.broadcast_to(stop * per_p, (ho, len(starts))).reshape(-1).astype(numpy.int64)
    plan = (numpy.ascontiguousarray(offs), tin, tout, first, stop)
    for array in plan:
        array.flags.writeable = False
    return plan


def blocked_forward(xp, weight, bias, dilation, out_hw, groups, rows=None):
    """``kernels_direct.direct_forward`` on the register-blocked kernel (``applies``).

    ``rows``: ``(first, stop)``, the rows of ``xp`` that may be nonzero (the others are
    padding, skipped), or None for all.

    Shape: xp (N, C, Hp, Wp), weight (C_out, C/groups, kh, kw), bias (C_out,) or None
    -> (N, C_out, Ho, Wo).
    """
    xp, weight = numpy.ascontiguousarray(xp), numpy.ascontiguousarray(weight, xp.dtype)
    n, c, hp, wp = xp.shape
    c_out, c_group, kh, kw = weight.shape
    ho, wo = out_hw
    o_group = c_out // groups
    lanes, tile = LANES, tile_width(wo)
    blocks = -(-o_group // lanes)
    steps = c_group * kh * kw
    # weight (G, B, R, V), steps (p, c, q): a block's channels in the lanes, zero beyond
    # the group's
    wt = numpy.zeros((groups, blocks * lanes, kh, c_group, kw), xp.dtype)
    wt[:, :o_group] = weight.reshape(groups, o_group, c_group, kh, kw).transpose(0, 1, 3, 2, 4)
    wt = numpy.ascontiguousarray(
        wt.reshape(groups, blocks, lanes, steps).transpose(0, 1, 3, 2))
    b = numpy.zeros((groups, blocks * lanes), xp.dtype)
    if bias is not None:
        b[:, :o_group] = numpy.asarray(bias, xp.dtype).reshape(groups, o_group)
    b = b.reshape(groups, blocks, lanes)
    plan = _forward_plan(groups, c_group, (kh, kw), tuple(dilation), (hp, wp), (ho, wo),
                         tile, (0, hp) if rows is None else tuple(rows))
    out = numpy.empty((n, c_out, ho * wo), xp.dtype)
    args = (xp.reshape(n, c * hp * wp), wt, b) + plan + (out,)
    kernel = _kernel("forward", tile, lanes, args)
    if n:
        kernel(*args)
    return out.reshape(n, c_out, ho, wo)


def blocked_weight_gradient(xp, grad, kernel_hw, dilation, groups):
    """``kernels_direct.direct_weight_gradient`` on the register-blocked kernel.

    Shape: xp (N, C, Hp, Wp), grad (N, C_out, Ho, Wo) -> (C_out, C/groups, kh, kw).
    """
    xp = numpy.ascontiguousarray(xp)
    grad = numpy.ascontiguousarray(grad, xp.dtype)
    n, c, hp, wp = xp.shape
    c_out, ho, wo = grad.shape[1:]
    c_group, o_group = c // groups, c_out // groups
    kh, kw = kernel_hw
    lanes, tile = LANES, _ROWS_TILE
    blocks = -(-o_group // lanes)
    steps = c_group * kh * kw
    tiles_r = -(-steps // tile)
    # the gradient (N, G, B, positions, V), zero in the lanes beyond the group's channels
    gt = numpy.zeros((n, groups, blocks * lanes, ho * wo), xp.dtype)
    gt[:, :, :o_group] = grad.reshape(n, groups, o_group, ho * wo)
    gt = numpy.ascontiguousarray(
        gt.reshape(n, groups, blocks, lanes, ho * wo).transpose(0, 1, 2, 4, 3))
    offs = numpy.zeros(tiles_r * tile, numpy.uint64)  # rows past the last: any, discarded
    offs[:steps] = _offsets(c_group, kernel_hw, dilation, hp, wp)
    toffs = offs.reshape(1, tiles_r, tile) + (
        numpy.arange(groups, dtype=numpy.uint64) * (c_group * hp * wp)).reshape(-1, 1, 1)
    rows = numpy.arange(ho).reshape(-1, 1)
    kin = (rows * wp + numpy.arange(wo)).reshape(-1).astype(numpy.uint64)
    out = numpy.empty((groups, blocks, tiles_r, tile, lanes), xp.dtype)
    args = (xp.reshape(n, c * hp * wp), gt, kin, numpy.ascontiguousarray(toffs), out)
    _kernel("weight", tile, lanes, args)(*args)
    dw = out.reshape(groups, blocks, tiles_r * tile, lanes)[:, :, :steps]
    dw = dw.transpose(0, 1, 3, 2).reshape(groups, blocks * lanes, steps)[:, :o_group]
    return numpy.ascontiguousarray(dw).reshape(c_out, c_group, kh, kw)
