import resource
import sys

import numpy as np
import pytest

from somanet.backend import keep_freed_memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_reallocating_a_large_array_does_not_page_fault_again():
    assert keep_freed_memory() in (True, False)  # False off glibc or with MALLOC_* set
    if not keep_freed_memory():
        pytest.skip("not glibc, or the user chose glibc's thresholds")
    for _ in range(3):  # warm up: the heap grows once
        np.ones(1_000_000, dtype=np.float32)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        np.ones(1_000_000, dtype=np.float32)  # 4 MB, freed at once
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    assert faults < 200  # without the setting: about 1,000 per array
