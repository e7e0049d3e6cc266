"""Seed 000's three-layer network (3 inputs, 4 hidden, 1 output, sigmoid, no bias),
trained by gradient descent on the squared error with the core API: tensors,
autograd and an update under ``no_grad``.

    python examples/tiny_network.py
"""
import somanet as sn


def main(steps=10_000, learning_rate=1.0, seed=1):
    sn.manual_seed(seed)
    # The four 3-bit images; images 1 and 4 are "digit 0", images 2 and 3 "digit 1".
    x = sn.tensor([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype="float32")
    d = sn.tensor([[0], [1], [1], [0]], dtype="float32")
    # Weights drawn uniformly from [-1, 1), as the article's 2 * random() - 1.
    w1 = (2 * sn.rand(3, 4) - 1).requires_grad_()
    w2 = (2 * sn.rand(4, 1) - 1).requires_grad_()
    for step in range(steps):
        y = sn.sigmoid(x @ w1)
        z = sn.sigmoid(y @ w2)
        error = 0.5 * ((z - d) ** 2).sum()
        error.backward()
        with sn.no_grad():
            for w in (w1, w2):
                w -= learning_rate * w.grad
                w.grad = None
        if step % (steps // 10) == 0 or step == steps - 1:
            print(f"step {step:5d}  error {error.item():.6f}")
    print("outputs:", [round(v, 3) for v in z.numpy().ravel().tolist()], "targets: [0, 1, 1, 0]")
    return error.item()


if __name__ == "__main__":
    main()
