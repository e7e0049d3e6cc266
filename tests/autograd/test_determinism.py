"""After manual_seed, two runs of one program are bitwise identical on the CPU."""
import subprocess
import sys

PROGRAM = r"""
import somanet as sn
sn.manual_seed(1234)
x = sn.randn(64, 5)
y = (x.sum(axis=1, keepdims=True) > 0).astype("float32")
w1 = (sn.randn(5, 8) * 0.5).requires_grad_()
w2 = (sn.randn(8, 1) * 0.5).requires_grad_()
for step in range(30):
    batch = sn.randint(0, 64, (16,))
    out = sn.sigmoid(sn.relu(x[batch] @ w1) @ w2)
    loss = ((out - y[batch]) ** 2).mean()
    loss.backward()
    with sn.no_grad():
        for w in (w1, w2):
            w -= 0.5 * w.grad
            w.grad = None
print(w1.numpy().tobytes().hex(), w2.numpy().tobytes().hex(), loss.numpy().tobytes().hex())
"""


def test_two_runs_are_bitwise_identical():
    runs = [subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True,
                           check=True).stdout for _ in range(2)]
    assert runs[0] == runs[1] and len(runs[0]) > 100
