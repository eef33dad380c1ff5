"""Synthetic table question answering (Neelakantan, Le & Sutskever 2015, arXiv 1511.04834 §3).

A table of integers and a question made of template words, column names and
numbers; the answer is a scalar (sum, count, difference) or a set of table
cells (lookup). The model sees only the answer, never the program.

Rules (the paper describes the data only in outline; every choice below is ours
and documented here):

* **Tables.** ``columns`` columns named by distinct letters drawn from the
  first ``name_pool`` letters ``A, B, …`` (shuffled per table, so the model must
  point at columns by name); ``min_rows``–``max_rows`` rows (uniform); integer
  entries uniform in ``[value_low, value_high]``. Tensors are padded to
  ``max_rows`` rows, ``columns`` columns and :data:`MAX_QUESTION` words so every
  batch has the same shape.
* **Numbers in questions** are uniform in ``[value_low, value_high]`` with 2
  decimals (``greater 17.27 A``), so no table entry equals a pivot — except in
  ``select`` questions, whose number is an entry of the column.
* **Templates** (X, Y, Z columns, possibly equal; N, N1, N2 numbers), with the
  program that answers them in ≤ 4 steps:

  ====================  =============================================  ========
  name                  question                                       answer
  ====================  =============================================  ========
  sum                   ``sum X``                                       scalar
  count                 ``count``                                       scalar
  greater_sum           ``greater N X sum Y``                           scalar
  lesser_sum            ``lesser N X sum Y``                            scalar
  greater_count         ``greater N X count``                           scalar
  lesser_count          ``lesser N X count``                            scalar
  and_count             ``greater N1 X and lesser N2 Y count``          scalar
  and_sum               ``greater N1 X and lesser N2 Y sum Z``          scalar
  or_count              ``greater N1 X or lesser N2 Y count``           scalar
  difference            ``difference sum X sum Y``                      scalar
  greater_print         ``greater N X print Y``                         lookup
  lesser_print          ``lesser N X print Y``                          lookup
  argmax_print          ``argmax X print Y`` (ties: the earliest row)   lookup
  argmin_print          ``argmin X print Y``                            lookup
  first_print           ``greater N X first print Y``                   lookup
  last_print            ``greater N X last print Y``                    lookup
  select_count          ``select N X count``                            scalar
  most_frequent_print   ``most frequent X print X``                     lookup
  ====================  =============================================  ========

  ``templates="paper"`` uses the operations of the 2015 paper (sum, count,
  difference, greater, lesser, and, or, assign/print, reset): the first 12
  rows; ``"all"`` every row; or a comma-separated list of names. Templates are
  drawn uniformly.
* **Training-only templates** (``train_extra``: ``"all"`` or names; data
  augmentation of the training split — answers only, never the program; dev
  and test keep ``templates``). The first four: the same programs as ``greater_sum`` …
  ``lesser_print`` with the comparison written *after* the aggregate, so the
  comparison's column is the question's second name (in every other one- to
  three-step template it is the first, which a column pointer can learn as
  "the first name" — wrong for the second comparison of ``and``/``or``
  questions, BENCHMARKS.md):

  ====================  =============================================  ========
  name                  question (program)                             answer
  ====================  =============================================  ========
  sum_greater           ``sum Y greater N X`` (greater X, sum Y)       scalar
  sum_lesser            ``sum Y lesser N X`` (lesser X, sum Y)         scalar
  print_greater         ``print Y greater N X`` (greater X, print Y)   lookup
  print_lesser          ``print Y lesser N X`` (lesser X, print Y)     lookup
  or_sum                ``greater N1 X or lesser N2 Y sum Z``          scalar
                        (greater X, lesser Y, or, sum Z)
  ====================  =============================================  ========

  ``or_sum`` is not a reordering: it is ``and_sum``'s program with ``or``. Its answer, a sum over
  the union of two selections, is not close to the sum of every row, whereas ``or_count``'s
  answer is usually close to the number of rows — the local minimum ("count every row") that
  ``or_count`` falls into (BENCHMARKS.md).
* **Text entries** (``text_columns`` > 0; the variant of arXiv 1511.06807 §4.3, whose data the
  papers do not specify, so every choice here is ours): the first ``text_columns`` columns hold
  words drawn uniformly from the first ``text_pool`` of :data:`TEXT_WORDS` (``w0 … w9``) instead of
  numbers, and three templates are added to every split (to ``templates`` ``paper`` or ``all``;
  a list names them itself), asking about the rows whose entry in a text column X is a word of the
  question (``W``, the word itself, written in the question):

  ====================  =============================================  ========
  name                  question (program)                             answer
  ====================  =============================================  ========
  text_count            ``W X count`` (select X, count)                scalar
  text_sum              ``W X sum Y`` (select X, sum Y)                scalar
  text_print            ``W X print Y`` (select X, print Y)            lookup
  ====================  =============================================  ========

  X is a text column, Y (and every column of the numeric templates) a number column. A text cell
  holds its word's code (:func:`text_code`: outside the numbers' range, alternately above and
  below it), and the question gives the code as the word's "number": the ``select`` operation
  (exact equality with a pivot chosen by pointer attention, §2.3) is so the paper's text match. The text variant therefore needs
  ``select`` among the model's operations (the ``text`` preset: the paper's nine plus ``select``).
* **Splits.** Example ``i`` of a split is generated from the seed
  ``(split_seed, i)``, so splits are fixed and identical on every machine:
  ``train`` (``train_examples``, seed ``train_seed``; training batches draw
  indices uniformly), ``dev`` (seed ``dev_seed``; what the trainer evaluates)
  and ``test`` (``test_examples``, seed ``test_seed``; benchmarks only).
* **Losses** (the paper's forms): Huber with ``huber_delta`` = 10 on the last
  step's scalar answer for scalar questions; ``lookup_weight`` (λ) × the
  log-loss of the last step's lookup answer, averaged over the table's real
  cells, for lookup questions. λ = 1000 is ours: with λ = 50 (the value we first
  tried) the scalar questions' gradients — the soft sum of a column of ~65
  entries in ±100 — outweighed the lookup questions' by ~3 orders of
  magnitude, and after 900 batches the print templates were at 0–5 %.
* **Accuracy**: a scalar answer is right within ``tolerance`` · max(1, |y|); a
  lookup answer is right when every real cell is on the right side of 0.5.
  Evaluation uses hard (argmax) selection, as the paper does at test time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator, NamedTuple

import numpy as np
import torch
from torch import Tensor

from augrnn.functional.programmer import huber
from augrnn.tasks.base import Task, TaskConfig, check_order, check_positive

__all__ = ["TableQATask", "TableQAConfig", "TableQABatch", "TEMPLATES", "PAPER_TEMPLATES", "TRAIN_ONLY_TEMPLATES",
           "TEXT_TEMPLATES", "TEXT_WORDS",
           "ALL_TEMPLATES", "VOCABULARY", "generate_example",
           "QUESTION_FORMS", "answer_question", "parse_question"]

TEMPLATES = (
    "sum", "count", "greater_sum", "lesser_sum", "greater_count", "lesser_count", "and_count", "and_sum",
    "or_count", "difference", "greater_print", "lesser_print",
    "argmax_print", "argmin_print", "first_print", "last_print", "select_count", "most_frequent_print",
)
PAPER_TEMPLATES = TEMPLATES[:12]
#: Training-split-only templates (``train_extra``, module docstring): a comparison on the second name, and or_sum.
TRAIN_ONLY_TEMPLATES = ("sum_greater", "sum_lesser", "print_greater", "print_lesser", "or_sum")
#: Every template a batch can hold; ``TableQABatch.template`` indexes this tuple (TEMPLATES first).
#: Templates of the text-entry variant (``text_columns`` > 0), added to ``paper`` and ``all`` in every split.
TEXT_TEMPLATES = ("text_count", "text_sum", "text_print")
ALL_TEMPLATES = TEMPLATES + TRAIN_ONLY_TEMPLATES + TEXT_TEMPLATES
#: The program of a training-only template is that of this template (same X, Y roles).
_SAME_PROGRAM = {"sum_greater": "greater_sum", "sum_lesser": "lesser_sum", "print_greater": "greater_print",
                 "print_lesser": "lesser_print"}
LOOKUP_TEMPLATES = {t for t in ALL_TEMPLATES if t.endswith("_print") or t.startswith("print_")}
#: Words of the text entries (the first ``text_pool`` are used).
TEXT_WORDS = tuple(f"w{k}" for k in range(10))
LETTERS = tuple("ABCDEFGHIJ")
WORDS = ("sum", "count", "greater", "lesser", "and", "or", "difference", "print", "argmax", "argmin", "first",
         "last", "select", "most", "frequent")
#: Word ids: 0 padding, 1 the number placeholder, then template words, column names and the text
#: entries' words (only a text variant's model embeds the last ones: ``TableQATask.input_size``).
VOCABULARY = ("<pad>", "<num>") + WORDS + LETTERS + TEXT_WORDS
NUMBER_VOCABULARY = len(VOCABULARY) - len(TEXT_WORDS)  # the vocabulary size without text entries
WORD_ID = {w: i for i, w in enumerate(VOCABULARY)}
#: The words that name an operation (the question's template words; ``most frequent`` names most_frequent).
_WORD_OPERATION = {**{w: w for w in WORDS if w not in ("most", "frequent")}, "most": "most_frequent"}
MAX_QUESTION = 10  # words
MAX_NUMBERS = 2  # numbers per question


class TableQABatch(NamedTuple):
    words: Tensor  # [B, L] long word ids (numbers are <num>), 0-padded
    word_mask: Tensor  # [B, L] 1 on real words
    numbers: Tensor  # [B, Q] the question's numbers in order
    number_positions: Tensor  # [B, Q] long: index of each number's <num> word
    number_mask: Tensor  # [B, Q]
    table: Tensor  # [B, M, C]
    row_mask: Tensor  # [B, M]
    column_names: Tensor  # [B, C] long word ids
    column_mask: Tensor  # [B, C]
    scalar_answer: Tensor  # [B]
    lookup_answer: Tensor  # [B, M, C] 0/1
    is_lookup: Tensor  # [B] 1.0 for lookup questions
    template: Tensor  # [B] long index into ALL_TEMPLATES (TEMPLATES, then TRAIN_ONLY_TEMPLATES)


class TableQAOutputs(NamedTuple):
    soft: object  # ProgrammerOutput of the soft program (training)
    hard: object  # ProgrammerOutput of the argmax program (test time), with its trace


@dataclass
class TableQAConfig(TaskConfig):
    columns: int = 5
    name_pool: int = 5  # column names are drawn from the first name_pool letters
    min_rows: int = 30
    max_rows: int = 100
    value_low: int = -100
    value_high: int = 100
    templates: str = "paper"  # paper | all | comma-separated names
    train_examples: int = 50000
    test_examples: int = 10000
    train_seed: int = 1
    dev_seed: int = 2
    test_seed: int = 3
    huber_delta: float = 10.0  # δ of the scalar answer's Huber loss
    lookup_weight: float = 1000.0  # λ, weight of the lookup answer's log-loss (see the module docstring)
    tolerance: float = 1e-3  # a scalar is right if |a − y| ≤ tolerance·max(1, |y|)
    train_weights: str = ""  # training split only: "name=w,..." relative template weights (others 1); dev/test stay uniform
    train_extra: str = ""  # training split only: "all" or names of TRAIN_ONLY_TEMPLATES added to templates
    text_columns: int = 0  # the first text_columns columns hold words (text entries; + TEXT_TEMPLATES); 0 = numbers only
    text_pool: int = 10  # text entries are drawn from the first text_pool of TEXT_WORDS
    op_entropy: float = 0.0  # β of the entropy bonus on the operation selections, annealed linearly to 0 over training


def _template_names(spec: str, text: bool = False) -> tuple[str, ...]:
    """The templates of ``spec``; ``text`` (a text-entry variant) adds :data:`TEXT_TEMPLATES`."""
    extra = TEXT_TEMPLATES if text else ()
    if spec == "paper":
        return PAPER_TEMPLATES + extra
    if spec == "all":
        return TEMPLATES + extra
    allowed = TEMPLATES + extra
    names = tuple(s.strip() for s in spec.split(",") if s.strip())
    bad = [n for n in names if n not in allowed]
    if not names or bad:
        raise ValueError(f"table-qa: templates must be 'paper', 'all' or names from {', '.join(allowed)}"
                         f"{'' if text else ' (text_* templates need task_args.text_columns > 0)'}; got {spec!r}")
    return names


#: Each template's question: X, Y, Z name columns (in this order of first use), ``<num>`` a number.
QUESTION_FORMS = {
    "sum": "sum X", "count": "count",
    "greater_sum": "greater <num> X sum Y", "lesser_sum": "lesser <num> X sum Y",
    "greater_count": "greater <num> X count", "lesser_count": "lesser <num> X count",
    "and_count": "greater <num> X and lesser <num> Y count", "and_sum": "greater <num> X and lesser <num> Y sum Z",
    "or_count": "greater <num> X or lesser <num> Y count", "difference": "difference sum X sum Y",
    "greater_print": "greater <num> X print Y", "lesser_print": "lesser <num> X print Y",
    "argmax_print": "argmax X print Y", "argmin_print": "argmin X print Y",
    "first_print": "greater <num> X first print Y", "last_print": "greater <num> X last print Y",
    "select_count": "select <num> X count", "most_frequent_print": "most frequent X print X",
    "sum_greater": "sum Y greater <num> X", "sum_lesser": "sum Y lesser <num> X",
    "or_sum": "greater <num> X or lesser <num> Y sum Z",
    "print_greater": "print Y greater <num> X", "print_lesser": "print Y lesser <num> X",
    "text_count": "<word> X count", "text_sum": "<word> X sum Y", "text_print": "<word> X print Y",
}


def _extra_names(spec: str) -> tuple[str, ...]:
    """The training-only templates named by ``train_extra`` (``""``: none)."""
    if not spec:
        return ()
    if spec == "all":
        return TRAIN_ONLY_TEMPLATES
    names = tuple(s.strip() for s in spec.split(",") if s.strip())
    bad = [n for n in names if n not in TRAIN_ONLY_TEMPLATES]
    if not names or bad or len(set(names)) != len(names):
        raise ValueError(f"table-qa: train_extra must be '', 'all' or distinct names from "
                         f"{', '.join(TRAIN_ONLY_TEMPLATES)}; got {spec!r}")
    return names


def train_template_names(config: "TableQAConfig") -> tuple[str, ...]:
    """The templates of the training split: ``templates`` then the ``train_extra`` ones."""
    base = _template_names(config.templates, config.text_columns > 0)
    return base + tuple(n for n in _extra_names(config.train_extra) if n not in base)


def answer_question(template: str, table: np.ndarray, columns: tuple[int, int, int], numbers: list[float]):
    """The answer of a question of ``template`` about ``table`` ``[M, C]``.

    Args:
        template: a name of :data:`ALL_TEMPLATES`.
        table: ``[M, C]`` entries.
        columns: the indices of the columns X, Y, Z (unused ones are ignored).
        numbers: the question's numbers in order (N or N1, N2).

    Returns:
        ``(scalar, lookup)``: the scalar answer (0 for lookup questions) and the ``[M, C]`` 0/1 lookup answer.
    """
    template = _SAME_PROGRAM.get(template, template)
    x, y, z = columns
    n1, n2 = (list(numbers) + [0.0, 0.0])[:2]
    rows = table.shape[0]
    greater, lesser = table[:, x] > n1, table[:, y] < n2
    scalar, lookup_rows, lookup_col = 0.0, None, None
    if template == "sum":
        scalar = table[:, x].sum()
    elif template == "count":
        scalar = rows
    elif template in ("greater_sum", "lesser_sum", "greater_count", "lesser_count"):
        kind, what = template.split("_")
        chosen = table[:, x] > n1 if kind == "greater" else table[:, x] < n1
        scalar = table[chosen, y].sum() if what == "sum" else chosen.sum()
    elif template in ("and_count", "and_sum", "or_count", "or_sum"):
        chosen = (greater & lesser) if template.startswith("and") else (greater | lesser)
        scalar = table[chosen, z].sum() if template.endswith("_sum") else chosen.sum()
    elif template == "difference":
        scalar = table[:, x].sum() - table[:, y].sum()
    elif template in ("greater_print", "lesser_print"):
        lookup_rows = table[:, x] > n1 if template == "greater_print" else table[:, x] < n1
        lookup_col = y
    elif template in ("argmax_print", "argmin_print"):
        lookup_rows = np.zeros(rows, dtype=bool)  # ties: the earliest row
        lookup_rows[np.argmax(table[:, x]) if template == "argmax_print" else np.argmin(table[:, x])] = True
        lookup_col = y
    elif template in ("first_print", "last_print"):
        lookup_rows = np.zeros(rows, dtype=bool)
        hits = np.flatnonzero(greater)
        if len(hits):
            lookup_rows[hits[0] if template == "first_print" else hits[-1]] = True
        lookup_col = y
    elif template == "select_count":
        scalar = (table[:, x] == n1).sum()
    elif template in TEXT_TEMPLATES:  # n1 is the question word's code
        chosen = table[:, x] == n1
        if template == "text_print":
            lookup_rows, lookup_col = chosen, y
        else:
            scalar = chosen.sum() if template == "text_count" else table[chosen, y].sum()
    elif template == "most_frequent_print":
        values, counts = np.unique(table[:, x], return_counts=True)
        lookup_rows = np.isin(table[:, x], values[counts == counts.max()])
        lookup_col = x
    else:
        raise ValueError(f"table-qa: unknown template {template!r}; expected one of {', '.join(ALL_TEMPLATES)}")
    lookup = np.zeros(table.shape, dtype=np.float32)
    if lookup_rows is not None:
        lookup[lookup_rows, lookup_col] = 1.0
    return float(scalar), lookup


def parse_question(words: list[str], names: list[str], templates=TEMPLATES) -> tuple[str, tuple[int, int, int]]:
    """Which template a question is, and its columns: the inverse of how questions are written.

    Args:
        words: the question's words, numbers replaced by ``"<num>"``.
        names: the table's column names (letters), in column order.
        templates: the template names allowed.

    Returns:
        ``(template, (x, y, z))`` column indices (0 for unused ones).

    Raises:
        ValueError: the words fit none of ``templates`` or name a column the table lacks.
    """
    for template in templates:
        form = QUESTION_FORMS[template].split()
        if len(form) != len(words):
            continue
        fill: dict[str, str] = {}
        ok = True
        for f, w in zip(form, words):
            if f in ("X", "Y", "Z"):
                if w not in names or fill.setdefault(f, w) != w:
                    ok = False
                    break
            elif f != w and not (f == "<word>" and w in TEXT_WORDS):
                ok = False
                break
        if ok:
            return template, tuple(names.index(fill[k]) if k in fill else 0 for k in ("X", "Y", "Z"))
    raise ValueError(f"question {' '.join(words)!r} fits none of the task's question forms: "
                     + "; ".join(QUESTION_FORMS[t].replace("<num>", "N").replace("<word>", "W") for t in templates)
                     + f" (X, Y, Z: a column name of the table, {', '.join(names)}; N: a number; W: a text word)")


def _template_weights(config: TableQAConfig, templates: tuple[str, ...]) -> np.ndarray | None:
    """Probabilities of ``templates`` in the training split (None: uniform)."""
    if not config.train_weights:
        return None
    weights = dict.fromkeys(templates, 1.0)
    for item in config.train_weights.split(","):
        name, _, value = item.partition("=")
        name = name.strip()
        try:
            w = float(value)
        except ValueError:
            w = -1.0
        if name not in weights or not w >= 0:
            raise ValueError(f"table-qa: train_weights must be 'name=w,...' with names from {', '.join(templates)} "
                             f"and weights >= 0; got {config.train_weights!r}")
        weights[name] = w
    p = np.array([weights[t] for t in templates])
    if p.sum() <= 0:
        raise ValueError(f"table-qa: train_weights gives every template weight 0: {config.train_weights!r}")
    return p / p.sum()


def text_code(config: TableQAConfig, k: int) -> int:
    """The number a text cell holding ``TEXT_WORDS[k]`` stores: outside ``[value_low, value_high]``,
    alternately above and below it (``w0`` → value_high + 1, ``w1`` → value_low − 1, ``w2`` →
    value_high + 2, …), so that a text column's codes average about 0 and its sum does not track
    its count (codes all above the numbers let ``sum`` of a text column stand in for ``count``)."""
    return config.value_high + 1 + k // 2 if k % 2 == 0 else config.value_low - 1 - k // 2


def generate_example(config: TableQAConfig, seed: tuple[int, int], weighted: bool = False) -> dict:
    """One example from ``np.random.default_rng(seed)`` (pure function of config and seed).

    ``weighted``: an example of the training split (``train_weights`` and ``train_extra`` apply).

    Returns a dict with ``words`` (list[str], numbers as ``"<num>"``), ``numbers``,
    ``table`` ``[M, C]`` int array, ``names`` (list[str]), ``template``,
    ``scalar`` (float) and ``lookup`` (``[M, C]`` 0/1 array).
    """
    c = config
    rng = np.random.default_rng(list(seed))
    rows = int(rng.integers(c.min_rows, c.max_rows + 1))
    table = rng.integers(c.value_low, c.value_high + 1, size=(rows, c.columns))
    names = [LETTERS[i] for i in rng.permutation(c.name_pool)[: c.columns]]
    templates = train_template_names(c) if weighted else _template_names(c.templates, c.text_columns > 0)
    p = _template_weights(c, templates) if weighted else None
    template = templates[int(rng.integers(len(templates)))] if p is None else templates[int(rng.choice(len(templates), p=p))]
    col = lambda: int(rng.integers(c.text_columns, c.columns))  # noqa: E731  a number column
    number = lambda: round(float(rng.uniform(c.value_low, c.value_high)), 2)  # noqa: E731
    x, y, z = col(), col(), col()
    n1, n2 = number(), number()
    word = None
    if c.text_columns:  # text entries: word k is stored as text_code(config, k)
        ids = rng.integers(c.text_pool, size=(rows, c.text_columns))
        table[:, : c.text_columns] = [[text_code(c, int(k)) for k in row] for row in ids]
        if template in TEXT_TEMPLATES:
            x = int(rng.integers(c.text_columns))
            k = int(ids[int(rng.integers(rows)), x])  # a word the column holds
            word, n1 = TEXT_WORDS[k], float(text_code(c, k))
    if template == "select_count":
        n1 = float(table[int(rng.integers(rows)), x])
    fill = {"X": names[x], "Y": names[y], "Z": names[z], "<word>": word}
    words = [fill.get(w, w) for w in QUESTION_FORMS[template].split()]
    numbers = [n1] if word is not None else [n1, n2][: words.count("<num>")]
    scalar, lookup = answer_question(template, table, (x, y, z), numbers)
    return {"words": words, "numbers": numbers, "table": table, "names": names, "template": template,
            "scalar": float(scalar), "lookup": lookup}


@lru_cache(maxsize=200_000)
def _cached_example(config_key: tuple, seed: tuple[int, int], weighted: bool = False) -> dict:
    return generate_example(TableQAConfig(*config_key), seed, weighted)


class TableQATask(Task):
    """Answer questions about tables from the answer alone (see the module docstring)."""

    name = "table-qa"
    config_class = TableQAConfig
    size_name = "columns"
    output_size = 1
    cost_metric = "cost"
    error_metric = "error"
    cost_label = "loss (Huber + λ·log-loss)"
    error_label = "1 − test-time accuracy"

    @property
    def input_size(self) -> int:
        """The vocabulary the model embeds: the text entries' words only in a text variant."""
        return len(VOCABULARY) if self.config.text_columns else NUMBER_VOCABULARY

    @property
    def word_operations(self) -> tuple[str | None, ...]:
        """The operation each word id names ("most" names most_frequent), None for the other words."""
        return tuple(_WORD_OPERATION.get(w) for w in VOCABULARY[:self.input_size])

    def validate(self) -> None:
        c = self.config
        check_positive(self.name, columns=c.columns, name_pool=c.name_pool, min_rows=c.min_rows, max_rows=c.max_rows,
                       train_examples=c.train_examples, test_examples=c.test_examples)
        check_order(self.name, "min_rows", c.min_rows, "max_rows", c.max_rows)
        check_order(self.name, "value_low", c.value_low, "value_high", c.value_high)
        check_order(self.name, "columns", c.columns, "name_pool", c.name_pool)
        if c.name_pool > len(LETTERS):
            raise ValueError(f"{self.name}: name_pool must be <= {len(LETTERS)}, got {c.name_pool}")
        if not (c.huber_delta > 0 and c.lookup_weight >= 0 and c.tolerance > 0):
            raise ValueError(f"{self.name}: huber_delta and tolerance must be > 0 and lookup_weight >= 0")
        if not c.op_entropy >= 0:
            raise ValueError(f"{self.name}: op_entropy must be >= 0, got {c.op_entropy}")
        if not 0 <= c.text_columns < c.columns:
            raise ValueError(f"{self.name}: text_columns must be in [0, columns) (a number column is needed), "
                             f"got {c.text_columns} with columns={c.columns}")
        if not 1 <= c.text_pool <= len(TEXT_WORDS):
            raise ValueError(f"{self.name}: text_pool must be in [1, {len(TEXT_WORDS)}], got {c.text_pool}")
        self.template_names = _template_names(c.templates, c.text_columns > 0)
        _template_weights(c, train_template_names(c))  # raises on a bad spec (train_extra included)

    @property
    def train_size_range(self) -> tuple[int, int]:
        return self.config.columns, self.config.columns

    def _key(self) -> tuple:
        c = self.config
        return tuple(getattr(c, f) for f in TableQAConfig.__dataclass_fields__)

    def examples(self, split: str, indices) -> list[dict]:
        """Examples ``indices`` of ``split`` (``train``, ``dev`` or ``test``)."""
        seed = {"train": self.config.train_seed, "dev": self.config.dev_seed, "test": self.config.test_seed}.get(split)
        if seed is None:
            raise ValueError(f"{self.name}: split must be train, dev or test, got {split!r}")
        key = self._key()
        weighted = split == "train" and bool(self.config.train_weights or self.config.train_extra)
        return [_cached_example(key, (seed, int(i)), weighted) for i in indices]

    def collate(self, examples: list[dict], device=None) -> TableQABatch:
        """Pad examples into a :class:`TableQABatch` (fixed shapes: max_rows, columns, MAX_QUESTION)."""
        c, B = self.config, len(examples)
        M, C, L, Q = c.max_rows, c.columns, MAX_QUESTION, MAX_NUMBERS
        words = np.zeros((B, L), np.int64)
        numbers = np.zeros((B, Q), np.float32)
        positions = np.zeros((B, Q), np.int64)
        number_mask = np.zeros((B, Q), np.float32)
        table = np.zeros((B, M, C), np.float32)
        row_mask = np.zeros((B, M), np.float32)
        names = np.zeros((B, C), np.int64)
        lookup = np.zeros((B, M, C), np.float32)
        scalar = np.zeros(B, np.float32)
        is_lookup = np.zeros(B, np.float32)
        template = np.zeros(B, np.int64)
        for b, ex in enumerate(examples):  # data preparation, not the model's forward
            ids = [WORD_ID[w] for w in ex["words"]]
            words[b, : len(ids)] = ids
            where = [i for i, w in enumerate(ex["words"]) if w == "<num>" or w in TEXT_WORDS]
            numbers[b, : len(where)] = ex["numbers"]
            positions[b, : len(where)] = where
            number_mask[b, : len(where)] = 1
            rows = ex["table"].shape[0]
            table[b, :rows] = ex["table"]
            row_mask[b, :rows] = 1
            names[b] = [WORD_ID[n] for n in ex["names"]]
            lookup[b, :rows] = ex["lookup"]
            scalar[b] = ex["scalar"]
            is_lookup[b] = float(ex["template"] in LOOKUP_TEMPLATES)
            template[b] = ALL_TEMPLATES.index(ex["template"])
        t = lambda a: torch.from_numpy(a).to(device)  # noqa: E731
        return TableQABatch(
            t(words), t((words > 0).astype(np.float32)), t(numbers), t(positions), t(number_mask), t(table),
            t(row_mask), t(names), t(np.ones((B, C), np.float32)), t(scalar), t(lookup), t(is_lookup), t(template),
        )

    def sample(self, batch_size, rng, size=None, max_size=None, device=None) -> TableQABatch:
        if batch_size < 1:
            raise ValueError(f"{self.name}: batch_size must be >= 1, got {batch_size}")
        if size is not None and size != self.config.columns:
            raise ValueError(f"{self.name}: the number of columns is set by task_args.columns ({self.config.columns}), "
                             f"not by --length (got {size})")
        indices = rng.integers(0, self.config.train_examples, size=batch_size)
        return self.collate(self.examples("train", indices), device)

    def eval_batches(self, seed, batches, batch_size, size=None, device=None, split: str = "dev") -> Iterator:
        """The first ``batches·batch_size`` examples of the fixed ``dev`` split (``seed`` is ignored: the split is fixed)."""
        if size is not None and size != self.config.columns:
            raise ValueError(f"{self.name}: the number of columns is set by task_args.columns ({self.config.columns})")
        for start in range(0, batches * batch_size, batch_size):
            yield self.collate(self.examples(split, range(start, start + batch_size)), device)

    def forward(self, model, batch: TableQABatch) -> TableQAOutputs:
        """Training: the soft program only (``hard`` is None, saving a second run);
        evaluation: both, the hard one with its trace."""
        soft = model(batch, return_trace=model.training and self.config.op_entropy > 0)
        if model.training:
            return TableQAOutputs(soft, None)
        with torch.no_grad():
            hard = model(batch, hard=True, return_trace=True)
        return TableQAOutputs(soft, hard)

    def example_losses(self, output, batch: TableQABatch) -> Tensor:
        """Per-example loss ``[B]``: Huber (scalar questions) or λ·log-loss over real cells (lookup questions)."""
        c = self.config
        scalar_loss = huber(output.answer - batch.scalar_answer, c.huber_delta)
        p = output.lookup.clamp(1e-6, 1 - 1e-6)
        y = batch.lookup_answer
        cells = batch.row_mask.unsqueeze(-1) * batch.column_mask.unsqueeze(1)
        log_loss = -((y * p.log() + (1 - y) * (1 - p).log()) * cells).sum((1, 2)) / cells.sum((1, 2)).clamp_min(1)
        return torch.where(batch.is_lookup > 0.5, c.lookup_weight * log_loss, scalar_loss)

    _progress = 0.0  # of training, for the annealed entropy bonus (start_step)

    def start_step(self, step: int, steps: int) -> None:
        self._progress = step / max(steps, 1)

    def loss(self, outputs: TableQAOutputs, batch: TableQABatch) -> Tensor:
        """The mean answer loss, minus the annealed entropy bonus β·(1 − progress)·H(α^op) when
        ``op_entropy`` = β > 0 (mean over examples and steps; keeps the operation choices soft early on)."""
        loss = self.example_losses(outputs.soft, batch).mean()
        beta = self.config.op_entropy * (1 - self._progress)
        if beta > 0 and outputs.soft.trace is not None:
            alpha = outputs.soft.trace.op_weights
            # α·log α with the log clamped: finite gradients at the masked operations' α = 0
            loss = loss + beta * (alpha * alpha.clamp_min(1e-12).log()).sum(-1).mean()
        return loss

    def correct(self, output, batch: TableQABatch) -> Tensor:
        """``[B]`` 1.0 where the answer of the right type is right (scalar within tolerance; every lookup cell right)."""
        tolerance = self.config.tolerance * batch.scalar_answer.abs().clamp_min(1.0)
        scalar_ok = (output.answer - batch.scalar_answer).abs() <= tolerance
        cells = batch.row_mask.unsqueeze(-1) * batch.column_mask.unsqueeze(1)
        wrong_cells = (((output.lookup > 0.5).float() != batch.lookup_answer).float() * cells).sum((1, 2))
        return torch.where(batch.is_lookup > 0.5, wrong_cells == 0, scalar_ok).float()

    def metrics(self, outputs: TableQAOutputs, batch: TableQABatch) -> dict[str, Tensor]:
        """``cost`` (the loss), ``error`` (1 − accuracy with hard selection, the paper's test
        metric; during training, when no hard run was made, of the soft program),
        ``soft_error`` (1 − accuracy of the soft program)."""
        soft_error = 1 - self.correct(outputs.soft, batch).detach()
        return {
            "cost": self.example_losses(outputs.soft, batch).detach(),
            "error": soft_error if outputs.hard is None else 1 - self.correct(outputs.hard, batch),
            "soft_error": soft_error,
        }

    def describe(self) -> str:
        c = self.config
        return (f"{c.columns} columns, {c.min_rows}-{c.max_rows} rows, entries {c.value_low}..{c.value_high}, "
                f"templates {c.templates}" + (f" (+ {c.train_extra} in training)" if c.train_extra else "")
                + (f", {c.text_columns} text column(s) of {c.text_pool} words" if c.text_columns else "")
                + f", {c.train_examples} train / {c.test_examples} test examples")
