"""The seq2seq (G2P) and reader (digit strips) views: data against the model's own outputs, validation."""

import json

import numpy as np
import pytest
import torch

from augrnn.tasks.g2p import BOS, load_lexicon
from augrnn.train import load_run
from augrnn.viz.views import AttentionView, ImageAttentionView, get_view, view_payload


@pytest.fixture(scope="module")
def g2p(g2p_run):
    return load_run(g2p_run)


@pytest.fixture(scope="module")
def reader(reader_run):
    return load_run(reader_run)


def test_seq2seq_and_reader_are_registered():
    assert isinstance(get_view("seq2seq"), AttentionView) and get_view("seq2seq").frontend == "attention"
    assert isinstance(get_view("reader"), ImageAttentionView) and get_view("reader").frontend == "image-attention"


def test_g2p_data_matches_the_models_decoding(g2p):
    cfg, model, task, device = g2p
    view = get_view("seq2seq")
    example = view.parse(cfg, task, {"word": "phoenix"})
    payload = view_payload(view, cfg, model, task, device, example)
    json.dumps(payload, allow_nan=False)
    data = payload["data"]

    source, mask = task.encode_words(["phoenix"])
    with torch.no_grad():
        decoded = model.greedy(source, mask)
    phones = list(task.phones_of(decoded.tokens, decoded.lengths)[0])
    assert data["inputs"] == list("phoenix")
    assert data["outputs"][: len(phones)] == phones and data["steps"] == len(data["outputs"])
    assert data["decodings"][0]["name"] == "greedy" and data["decodings"][0]["phones"] == phones
    assert data["decodings"][0]["log_prob"] == pytest.approx(float(decoded.scores[0]), abs=1e-3)
    # the attention matrix: the decoding's own weights, output steps x letters, rows summing to 1
    weights = np.array(data["weights"])
    np.testing.assert_allclose(weights, decoded.weights[0, : data["steps"]].numpy(), atol=6e-4)
    np.testing.assert_allclose(weights.sum(1), 1.0, atol=5e-3)
    # teacher forcing on the decoded output attends exactly as the decoding did
    target_in = torch.cat([torch.tensor([[BOS]]), decoded.tokens[:, : data["steps"] - 1]], 1)
    with torch.no_grad():
        logits, trace = model(source, mask, target_in, return_trace=True)
    np.testing.assert_allclose(weights, trace.weights[0].numpy(), atol=6e-4)
    # candidates: the most likely phones per step, the decoded one first (greedy takes the argmax)
    probs = torch.softmax(logits[0, :, 2:], -1)  # pad (0) and begin (1) are never emitted
    top = probs.topk(5, -1)
    np.testing.assert_allclose(data["candidates"]["probs"], top.values.numpy(), atol=6e-4)
    assert [row[0] for row in data["candidates"]["tokens"]] == data["outputs"]
    # the beam search shown next to greedy is the model's beam search
    with torch.no_grad():
        beam = model.beam_search(source, mask, beam_size=5)
    assert data["decodings"][1]["phones"] == list(task.phones_of(beam.tokens, beam.lengths)[0])
    # phoenix is a CMUdict headword: its references and split
    split = next(name for name, words in load_lexicon().items() if "phoenix" in words)
    assert data["split"] == split and data["references"] == [list(r) for r in load_lexicon()[split]["phoenix"]]


def test_g2p_view_with_neighbours_shows_the_letters_then_the_memory(g2p_neighbors_run):
    cfg, model, task, device = load_run(g2p_neighbors_run)
    view = get_view("seq2seq")
    data = view_payload(view, cfg, model, task, device, view.parse(cfg, task, {"word": "phoenix"}))["data"]
    (labels, _), = task.attention_columns(["phoenix"], torch.zeros(1, 1, 7 + task.encode_neighbors(["phoenix"]).numel()))
    assert data["inputs"] == labels and labels[:7] == list("phoenix") and len(labels) > 7 and "neighbours" in data["help"]
    with torch.no_grad():
        decoded = task.decode_words(model, ["phoenix"])
    weights = np.array(data["weights"])  # [steps, 7 letters + memory]: the decoding's own weights
    full = decoded.weights[0, : data["steps"]]  # [steps, S + N·R], padding of the neighbours' items included
    assert torch.allclose(full.sum(-1), torch.full((data["steps"],), 2.0), atol=1e-5)  # all the mass is shown:
    np.testing.assert_allclose(weights.sum(1), 2.0, atol=5e-3)  # none on padding
    np.testing.assert_allclose(weights, task.attention_columns(["phoenix"], full[None])[0][1].numpy(), atol=6e-4)
    np.testing.assert_allclose(weights[:, :7].sum(1), 1.0, atol=5e-3)  # each part sums to 1
    np.testing.assert_allclose(weights[:, 7:].sum(1), 1.0, atol=5e-3)
    assert data["decodings"][0]["phones"] == list(task.phones_of(decoded.tokens, decoded.lengths)[0])


def test_g2p_word_outside_the_dictionary_has_no_reference(g2p):
    cfg, model, task, device = g2p
    view = get_view("seq2seq")
    data = view_payload(view, cfg, model, task, device, view.parse(cfg, task, {"word": "zqxj'vk"}))["data"]
    assert data["references"] == [] and data["split"] is None
    assert len(data["weights"][0]) == 7


def test_g2p_sample_draws_unseen_words_of_the_asked_length(g2p):
    cfg, _, task, _ = g2p
    view = get_view("seq2seq")
    dev = task.split_words("dev")
    for size in (3, 7):
        word = view.sample(cfg, task, size, seed=5)["word"]
        assert len(word) == size and word in dev
    assert view.sample(cfg, task, 7, seed=5) == view.sample(cfg, task, 7, seed=5)
    longest = max(len(w) for w in dev)
    word = view.sample(cfg, task, longest + 1, seed=0)["word"]  # no dev word that long: a training word
    assert len(word) == longest + 1 and word in task.split_words("train")
    with pytest.raises(ValueError, match="no CMUdict word has 40 letters"):
        view.sample(cfg, task, 40, seed=0)
    with pytest.raises(ValueError, match="between 1 and 40"):
        view.sample(cfg, task, 41, seed=0)


def test_g2p_longest_word_is_accepted_and_one_more_letter_is_not(g2p):
    cfg, model, task, device = g2p
    view = get_view("seq2seq")
    word = "ab" * 20
    data = view_payload(view, cfg, model, task, device, view.parse(cfg, task, {"word": word}))["data"]
    assert len(data["inputs"]) == 40
    with pytest.raises(ValueError, match="1 to 40 letters"):
        view.parse(cfg, task, {"word": word + "a"})


@pytest.mark.parametrize(
    "example, message",
    [
        ("cat", "JSON object"),
        ({}, "missing"),
        ({"word": "cat", "x": 1}, "unknown fields"),
        ({"word": 3}, "must be a string"),
        ({"word": ["c", "a", "t"]}, "must be a string"),
        ({"word": ""}, "1 to 40 letters"),
        ({"word": "Cat"}, "lower-case letters a-z and the apostrophe"),
        ({"word": "ca t"}, r"' ' in 'ca t'"),
        ({"word": "café"}, "lower-case"),
        ({"word": "c<b>"}, "lower-case"),
        ({"word": "x" * 2000}, "1 to 40 letters"),
    ],
)
def test_g2p_parse_refuses_bad_examples_with_a_clear_message(g2p, example, message):
    cfg, _, task, _ = g2p
    with pytest.raises(ValueError, match=message):
        get_view("seq2seq").parse(cfg, task, example)


def test_reader_data_matches_the_models_reading(reader):
    cfg, model, task, device = reader
    view = get_view("reader")
    example = view.parse(cfg, task, {"digits": [3, 1, 4, 1], "seed": 9})
    payload = view_payload(view, cfg, model, task, device, example)
    json.dumps(payload, allow_nan=False)
    data = payload["data"]

    image = task.render_digits([3, 1, 4, 1], np.random.default_rng(9))
    np.testing.assert_allclose(data["image"], image, atol=6e-4)
    images = torch.from_numpy(image)[None, None]
    with torch.no_grad():
        decoded = model.greedy(images, max_length=task.config.max_digits + 1)
    n = int(decoded.lengths[0])
    assert data["truth"] == "3141" and data["read"] == "".join(str(t - 3) for t in decoded.tokens[0, :n].tolist())
    assert data["steps"] == len(data["outputs"]) == min(n + 1, decoded.tokens.shape[1])
    H, W = image.shape
    h, w = data["grid"]
    assert (h, w) == (H // 2, W // 2)
    maps = np.array(data["maps"])  # [L, H, W]: each grid cell's weight repeated over its 2x2 pixels
    assert maps.shape == (data["steps"], H, W)
    np.testing.assert_allclose(maps[:, : 2 * h : 2, : 2 * w : 2], decoded.weights[0, : data["steps"]].reshape(-1, h, w).numpy(), atol=6e-5)
    np.testing.assert_allclose(np.array(data["columns"]).sum(1), 1.0, atol=2e-3)  # every digit's attention sums to 1


def test_reader_sample_and_size_bounds(reader):
    cfg, _, task, _ = reader
    view = get_view("reader")
    example = view.sample(cfg, task, 4, seed=3)
    assert len(example["digits"]) == 4 and example["seed"] == 3 and all(0 <= d <= 9 for d in example["digits"])
    assert len(view.sample(cfg, task, None, seed=3)["digits"]) == 6
    assert view.limits(cfg, task)["max_size"] == 6
    with pytest.raises(ValueError, match="between 1 and 6"):
        view.sample(cfg, task, 7, seed=0)
    assert view.parse(cfg, task, {"digits": [0] * 6}) == {"digits": [0] * 6, "seed": 0}


@pytest.mark.parametrize(
    "example, message",
    [
        ([1, 2, 3], "JSON object"),
        ({"seed": 1}, "missing"),
        ({"digits": [1], "colour": "red"}, "unknown fields"),
        ({"digits": "123"}, "list of 1 to 6 digits"),
        ({"digits": []}, "list of 1 to 6 digits"),
        ({"digits": [1] * 7}, "list of 1 to 6 digits"),
        ({"digits": [1, 10]}, "integer 0-9"),
        ({"digits": [1, -1]}, "integer 0-9"),
        ({"digits": [1, 2.5]}, "integer 0-9"),
        ({"digits": [1, True]}, "integer 0-9"),
        ({"digits": [1, "2"]}, "integer 0-9"),
        ({"digits": [1], "seed": -1}, "seed must be an integer"),
        ({"digits": [1], "seed": 2**32}, "seed must be an integer"),
        ({"digits": [1], "seed": "0"}, "seed must be an integer"),
    ],
)
def test_reader_parse_refuses_bad_examples_with_a_clear_message(reader, example, message):
    cfg, _, task, _ = reader
    with pytest.raises(ValueError, match=message):
        get_view("reader").parse(cfg, task, example)
