"""examples/text_generation.py: a character LSTM, its bits per character and samples."""
import math

import somanet as sn

import text_generation


def test_a_tiny_run_learns_and_writes(tmp_path, check_png):
    text = sn.datasets.shakespeare()[:20000]
    result = text_generation.main(out=str(tmp_path), epochs=3, hidden=32, embedding_dim=8,
                                  window=50, batch_size=32, learning_rate=0.01, text=text,
                                  sample_length=60, verbose=False)
    uniform = math.log2(len(result["vocab"]))
    bpc = result["bpc"]
    assert len(bpc) == 3 and bpc[-1] < bpc[0] < uniform + 0.5
    assert bpc[-1] < result["unigram"]  # 3 short epochs on 18,000 characters: past the unigram
    assert result["trigram"] < result["unigram"] < uniform
    for temperature, sample in result["samples"].items():
        assert sample.startswith("\n") and len(sample) == 61
        assert set(sample) <= set(result["vocab"].chars)
    check_png(result["figure"], min_kb=10, min_side=300)
