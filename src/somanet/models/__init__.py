"""Layer 5, models: the model zoo, ready-built models for the classic datasets.

===================== ========================================= ============
builder               architecture                              parameters
===================== ========================================= ============
``quickstart()``      the Keras MNIST quickstart: Flatten,      101,770
                      Dense 128 relu, Dropout 0.2, Dense 10
``mlp(...)``          the same, with sizes to choose            (101,770)
``lenet()``           LeNet-5: 2 conv + 2 max-pool, 3 Dense     61,706
``lstm_classifier()`` LSTM(128) over image rows, Dense 10       81,674
``mlp_tabular(F, C)`` Dense 64, 32 relu, Dense C, for CSV rows  depends
``seq2seq(Vs, Vt)``   encoder-decoder LSTM with attention,      186,095
                      greedy and beam-search decoding           (dates)
===================== ========================================= ============

Every model outputs logits and is a ``somanet.train`` model (``compile``, ``fit``,
``evaluate``, ``predict``, ``summary``). ``get(name)`` builds one by its name
(``"mlp"``, ``"lenet"``, ``"lstm"``), as ``somanet train --model NAME`` does.

    >>> from somanet import models
    >>> model = models.get("mlp")
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
    ...               metrics=["accuracy"])
"""
from .mnist import IMAGE_SHAPE, LSTMClassifier, lenet, lstm_classifier, mlp, quickstart
from .tabular import mlp_tabular
from .registry import get, names, register

__all__ = ["IMAGE_SHAPE", "LSTMClassifier", "get", "lenet", "lstm_classifier", "mlp",
           "mlp_tabular", "names", "quickstart", "register"]
from .rbm import ConvRBM, ExactLogLikelihood, GaussianBernoulliRBM, RBM  # noqa: E402
__all__ += ["ConvRBM", "ExactLogLikelihood", "GaussianBernoulliRBM", "RBM"]
from .gans import GAN, SampleGrid, classify_samples, dcgan, gan  # noqa: E402
from .autoencoders import (VAE, Autoencoder, DenoisingAutoencoder, autoencoder,  # noqa: E402
                          denoising_autoencoder, vae)
__all__ += ["GAN", "SampleGrid", "classify_samples", "dcgan", "gan", "Autoencoder",
            "DenoisingAutoencoder", "VAE", "autoencoder", "denoising_autoencoder", "vae"]
from .dbn import DBN, ConvolutionalDBN  # noqa: E402
__all__ += ["ConvolutionalDBN", "DBN"]
from .dsn import DSN, DSNModule, SingularRidgeWarning  # noqa: E402
__all__ += ["DSN", "DSNModule", "SingularRidgeWarning"]
from .lamstar import LAMSTAR, image_patches  # noqa: E402
__all__ += ["LAMSTAR", "image_patches"]
from .sequences import many_to_many, many_to_one, one_to_many, one_to_one, running_parity  # noqa: E402,E501
__all__ += ["many_to_many", "many_to_one", "one_to_many", "one_to_one", "running_parity"]
from .text import CharNGram, bits_per_character, char_lstm, generate, sample_logits  # noqa: E402
__all__ += ["CharNGram", "bits_per_character", "char_lstm", "generate", "sample_logits"]
from .seq2seq import Decoded, Seq2Seq, exact_match, seq2seq  # noqa: E402
__all__ += ["Decoded", "Seq2Seq", "exact_match", "seq2seq"]
