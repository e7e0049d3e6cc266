"""Tiny textbook datasets, as float32 NumPy arrays.

    >>> from somanet.datasets import xor, three_bit_images
    >>> x, y = xor()
    >>> x.shape, y.ravel().tolist()
    ((4, 2), [0.0, 1.0, 1.0, 0.0])
"""
import numpy


def xor():
    """The XOR truth table: no single perceptron separates it, one hidden layer
    trained by backprop does (Minsky & Papert, 1969; Rumelhart, Hinton & Williams, 1986).

    Returns:
        ``(x, y)``: x float32 ``(4, 2)`` with rows 00, 01, 10, 11; y float32
        ``(4, 1)`` = ``x0 XOR x1`` = ``[0, 1, 1, 0]``.
    """
    x = numpy.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=numpy.float32)
    y = numpy.array([[0], [1], [1], [0]], dtype=numpy.float32)
    return x, y


def three_bit_images():
    """Four 3-bit "images" for a 3-4-1 sigmoid network trained by backprop.

    Images 1 and 4 show the digit 0 (desired output 0), images 2 and 3 the
    digit 1 (desired output 1); the third bit is always on, acting as a bias
    input.

    Returns:
        ``(x, d)``: x float32 ``(4, 3)`` = ``[[0,0,1], [0,1,1], [1,0,1], [1,1,1]]``,
        d float32 ``(4, 1)`` = ``[[0], [1], [1], [0]]``.
    """
    x = numpy.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=numpy.float32)
    d = numpy.array([[0], [1], [1], [0]], dtype=numpy.float32)
    return x, d
