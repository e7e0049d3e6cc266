"""examples/date_translation.py: an encoder-decoder LSTM with attention translating dates."""
import date_translation


def test_translates_numeric_dates_fast(tmp_path, check_png):
    # 800 sentences in the two numeric styles, 3 epochs and 24 units instead of 20,000
    # in all twelve styles, 3 epochs and 64: seconds, not minutes, and the same pipeline.
    result = date_translation.main(out=str(tmp_path), train_size=800, test_size=100, epochs=3,
                                   batch_size=32, units=24, embedding_dim=16,
                                   learning_rate=0.01, beam_size=3,
                                   styles=["dotted", "us_numeric"], verbose=0)
    assert result["greedy"] > 0.5 and result["beam"] > 0.5  # chance: 1 in 36,525 dates
    assert set(result["by_style"]) == {"dotted", "us_numeric"}
    losses = result["history"]["loss"]
    assert losses[-1] < 0.5 * losses[0]
    assert len(result["examples"]) == 8
    assert len(result["mistakes"]) == round((1 - result["greedy"]) * 100)
    attention, history = result["figures"]
    check_png(attention, min_kb=10, min_side=300)
    check_png(history, min_kb=10, min_side=300)
