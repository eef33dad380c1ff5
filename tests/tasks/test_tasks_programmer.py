"""Neural Programmer tasks: arithmetic expressions and synthetic table QA."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from augrnn.functional import programmer as NP
from augrnn.tasks import TASKS
from augrnn.tasks.arithmetic import ARITHMETIC_OPERATIONS, ArithmeticConfig, ArithmeticTask, evaluate_expression
from augrnn.tasks.table_qa import (TEMPLATES, TEXT_TEMPLATES, TEXT_WORDS, TRAIN_ONLY_TEMPLATES, TableQAConfig,
                                   TableQATask, answer_question, generate_example, parse_question)


def test_registered():
    assert TASKS["arithmetic"] is ArithmeticTask and TASKS["table-qa"] is TableQATask


# -- arithmetic --------------------------------------------------------------------------


def test_expressions_are_evaluated_left_to_right_with_safe_divide():
    operands = np.array([[2, 3, 4], [7, 0, 5], [1, 2, 3]])
    operators = np.array([[0, 2], [3, 0], [1, 3]])  # (2+3)*4, (7/0)+5, (1-2)/3
    np.testing.assert_allclose(evaluate_expression(operands, operators), [20.0, 5.0, -1 / 3])


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_canonical_program_computes_the_answer(depth):
    task = ArithmeticTask(ArithmeticConfig(max_depth=4))
    b = task.sample(200, np.random.default_rng(depth), size=depth)
    assert b.tokens.shape == (200, 2 * depth + 1, task.input_size)
    operands = b.operands[:, 0::2]  # the numbers, in order
    N = depth + 1
    prev1 = prev2 = torch.zeros(200)
    for t in range(b.tokens.shape[1]):
        code = b.program[:, t]
        alpha = F.one_hot(torch.where(code >= 0, code, N - 1 - code), N + len(ARITHMETIC_OPERATIONS)).float()
        prev2, prev1 = prev1, NP.arithmetic_step(alpha, operands, prev1, prev2)
    assert task._correct(prev1, b).all()


def test_arithmetic_is_deterministic_and_validates():
    task = ArithmeticTask()
    a, b = (task.sample(8, np.random.default_rng(5)) for _ in range(2))
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    with pytest.raises(ValueError, match="operators"):
        ArithmeticTask(ArithmeticConfig(operators="+%"))
    with pytest.raises(ValueError, match="min_depth"):
        ArithmeticTask(ArithmeticConfig(min_depth=3, max_depth=2))


# -- table QA ------------------------------------------------------------------------------

# The program that answers each template in 4 steps: (operation, column word index or None, pivot number index).
PROGRAMS = {
    "sum": [("reset",), ("reset",), ("reset",), ("sum", 1)],
    "count": [("reset",), ("reset",), ("reset",), ("count",)],
    "greater_sum": [("reset",), ("reset",), ("greater", 2, 0), ("sum", 4)],
    "lesser_sum": [("reset",), ("reset",), ("lesser", 2, 0), ("sum", 4)],
    "greater_count": [("reset",), ("reset",), ("greater", 2, 0), ("count",)],
    "lesser_count": [("reset",), ("reset",), ("lesser", 2, 0), ("count",)],
    "and_count": [("greater", 2, 0), ("lesser", 6, 1), ("and",), ("count",)],
    "and_sum": [("greater", 2, 0), ("lesser", 6, 1), ("and",), ("sum", 8)],
    "or_count": [("greater", 2, 0), ("lesser", 6, 1), ("or",), ("count",)],
    "or_sum": [("greater", 2, 0), ("lesser", 6, 1), ("or",), ("sum", 8)],
    "difference": [("sum", 2), ("reset",), ("sum", 4), ("difference",)],
    "greater_print": [("reset",), ("reset",), ("greater", 2, 0), ("print", 4)],
    "lesser_print": [("reset",), ("reset",), ("lesser", 2, 0), ("print", 4)],
    "argmax_print": [("reset",), ("reset",), ("argmax", 1), ("print", 3)],
    "argmin_print": [("reset",), ("reset",), ("argmin", 1), ("print", 3)],
    "first_print": [("reset",), ("greater", 2, 0), ("first",), ("print", 5)],
    "last_print": [("reset",), ("greater", 2, 0), ("last",), ("print", 5)],
    "select_count": [("reset",), ("reset",), ("select", 2, 0), ("count",)],
    "most_frequent_print": [("reset",), ("reset",), ("most_frequent", 2), ("print", 4)],
    "text_count": [("reset",), ("reset",), ("select", 1, 0), ("count",)],
    "text_sum": [("reset",), ("reset",), ("select", 1, 0), ("sum", 3)],
    "text_print": [("reset",), ("reset",), ("select", 1, 0), ("print", 3)],
}


def _execute(task: TableQATask, examples: list[dict]):
    """Run each template's hand-written program with hard selections through table_step."""
    batch = task.collate(examples)
    B, M, C = batch.table.shape
    K = len(NP.TABLE_OPERATIONS)
    rows1 = rows2 = batch.row_mask
    s1 = s2 = s3 = torch.zeros(B)
    index = NP.table_index(batch.table)
    for t in range(4):
        ops, cols, pivots = torch.zeros(B, K), torch.zeros(B, C), torch.zeros(B, len(NP.PIVOT_OPERATIONS), 2)
        for b, ex in enumerate(examples):
            step = PROGRAMS[ex["template"]][t]
            ops[b, NP.TABLE_OPERATIONS.index(step[0])] = 1
            cols[b, ex["names"].index(ex["words"][step[1]]) if len(step) > 1 else 0] = 1
            if step[0] in NP.PIVOT_OPERATIONS:
                pivots[b, NP.PIVOT_OPERATIONS.index(step[0]), step[2]] = 1
        scalar, lookup, rows = NP.table_step(batch.table, batch.row_mask, index, batch.numbers, pivots, ops, cols,
                                             rows1, rows2, s1, s3)
        rows1, rows2, s1, s2, s3 = rows, rows1, scalar, s1, s2
    return batch, scalar, lookup


@pytest.mark.parametrize("columns", [1, 3, 5])
def test_every_template_is_answered_by_its_four_step_program(columns):
    task = TableQATask(TableQAConfig(columns=columns, templates="all", min_rows=5, max_rows=12, value_low=-5,
                                     value_high=5))
    examples = task.examples("train", range(300))
    assert {ex["template"] for ex in examples} == set(TEMPLATES)
    batch, scalar, lookup = _execute(task, examples)
    output = type("Out", (), {"answer": scalar, "lookup": lookup})
    assert task.correct(output, batch).all()


def test_splits_are_fixed_and_distinct():
    config = TableQAConfig(columns=2, min_rows=3, max_rows=5)
    a = generate_example(config, (1, 7))
    b = TableQATask(config).examples("train", [7])[0]
    assert a["words"] == b["words"] and np.array_equal(a["table"], b["table"]) and a["scalar"] == b["scalar"]
    test = TableQATask(config).examples("test", [7])[0]
    assert not np.array_equal(test["table"], a["table"]) if test["table"].shape == a["table"].shape else True


def test_batches_have_fixed_shapes_and_sizes():
    task = TableQATask(TableQAConfig(columns=3, max_rows=40))
    batch = task.sample(6, np.random.default_rng(0))
    assert batch.table.shape == (6, 40, 3) and batch.lookup_answer.shape == (6, 40, 3)
    assert batch.words.shape == (6, 10) and batch.numbers.shape == (6, 2)
    evals = list(task.eval_batches(seed=0, batches=2, batch_size=4))
    assert len(evals) == 2 and evals[0].table.shape == (4, 40, 3)
    again = list(task.eval_batches(seed=99, batches=2, batch_size=4))
    assert torch.equal(evals[1].table, again[1].table)  # the dev split is fixed


def test_table_qa_validates():
    with pytest.raises(ValueError, match="templates"):
        TableQATask(TableQAConfig(templates="sum,nonsense"))
    with pytest.raises(ValueError, match="name_pool"):
        TableQATask(TableQAConfig(columns=5, name_pool=3))
    with pytest.raises(ValueError, match="columns"):
        TableQATask(TableQAConfig(columns=2)).sample(2, np.random.default_rng(0), size=3)


def test_table_train_weights_change_the_training_split_only():
    base = dict(columns=2, name_pool=3, min_rows=3, max_rows=6, templates="sum,count,and_count")
    plain = TableQATask(TableQAConfig(**base))
    weighted = TableQATask(TableQAConfig(**base, train_weights="and_count=8,count=0"))
    names = lambda task, split: [e["template"] for e in task.examples(split, range(400))]  # noqa: E731
    train = names(weighted, "train")
    assert "count" not in train and 0.8 < train.count("and_count") / len(train) < 0.95  # expected 8/9
    for split in ("dev", "test"):  # evaluation splits stay uniform and identical
        assert names(weighted, split) == names(plain, split)
    for bad in ("and_count", "nope=2", "sum=-1", "sum=0,count=0,and_count=0"):
        with pytest.raises(ValueError, match="train_weights"):
            TableQATask(TableQAConfig(**base, train_weights=bad))


# a hand-built table: columns 0, 1, 2
_HAND_TABLE = np.array([[5, -3, 1], [-2, 7, 4], [9, 0, -6], [0, 2, 8]])


@pytest.mark.parametrize("template, numbers, scalar, cells", [
    # sum Y greater N X with X = 0, Y = 1: rows with col 0 > 1.5 are rows 0, 2 -> -3 + 0
    ("sum_greater", [1.5], -3.0, []),
    # sum Y lesser N X: rows with col 0 < 1.5 are rows 1, 3 -> 7 + 2
    ("sum_lesser", [1.5], 9.0, []),
    # print Y greater N X: the Y cells of rows 0, 2
    ("print_greater", [1.5], 0.0, [(0, 1), (2, 1)]),
    ("print_lesser", [1.5], 0.0, [(1, 1), (3, 1)]),
    # greater 1.5 X or lesser 2.5 Y sum Z: rows 0, 2 or rows 0, 2, 3 -> 1 - 6 + 8
    ("or_sum", [1.5, 2.5], 3.0, []),
])
def test_training_only_templates_answer_their_program_on_a_hand_built_table(template, numbers, scalar, cells):
    got_scalar, got_lookup = answer_question(template, _HAND_TABLE, (0, 1, 2), numbers)
    expected = np.zeros(_HAND_TABLE.shape, np.float32)
    for cell in cells:
        expected[cell] = 1.0
    assert got_scalar == scalar and np.array_equal(got_lookup, expected)


def test_training_only_templates_are_written_with_the_comparison_on_the_second_name():
    task = TableQATask(TableQAConfig(columns=3, name_pool=3, min_rows=4, max_rows=8, templates="sum",
                                     train_extra="all"))
    examples = [e for e in task.examples("train", range(300)) if e["template"] in TRAIN_ONLY_TEMPLATES]
    assert {e["template"] for e in examples} == set(TRAIN_ONLY_TEMPLATES)
    for e in examples:  # the words name Y first, then the comparison on X; the answer is recomputed here
        if e["template"] == "or_sum":  # not a reordering (test_or_sum_is_answered_by_its_program)
            continue
        aggregate, y, kind, _, x = e["words"]
        assert (aggregate, kind) == tuple(e["template"].split("_"))
        cx, cy = e["names"].index(x), e["names"].index(y)
        hit = e["table"][:, cx] > e["numbers"][0] if kind == "greater" else e["table"][:, cx] < e["numbers"][0]
        if aggregate == "sum":
            assert e["scalar"] == e["table"][hit, cy].sum() and not e["lookup"].any()
        else:
            assert np.array_equal(np.flatnonzero(e["lookup"][:, cy]), np.flatnonzero(hit))
            assert e["lookup"].sum() == hit.sum()
        assert parse_question([w for w in e["words"]], e["names"], TRAIN_ONLY_TEMPLATES)[0] == e["template"]


def test_or_sum_is_answered_by_its_program():
    task = TableQATask(TableQAConfig(columns=3, name_pool=3, min_rows=5, max_rows=12, value_low=-5, value_high=5,
                                     templates="sum", train_extra="or_sum"))
    examples = [e for e in task.examples("train", range(200)) if e["template"] == "or_sum"]
    assert len(examples) > 50 and all(e["words"][3] == "or" and e["words"][7] == "sum" for e in examples)
    batch, scalar, lookup = _execute(task, examples)
    output = type("Out", (), {"answer": scalar, "lookup": lookup})
    assert task.correct(output, batch).all()


def test_train_extra_changes_the_training_split_only():
    base = dict(columns=2, name_pool=3, min_rows=3, max_rows=6, templates="sum,count")
    plain, extra = TableQATask(TableQAConfig(**base)), TableQATask(TableQAConfig(**base, train_extra="sum_lesser"))
    names = lambda task, split: [e["template"] for e in task.examples(split, range(300))]  # noqa: E731
    assert set(names(extra, "train")) == {"sum", "count", "sum_lesser"}
    for split in ("dev", "test"):
        assert names(extra, split) == names(plain, split)
    weighted = TableQATask(TableQAConfig(**base, train_extra="all", train_weights="sum_greater=0,print_lesser=0"))
    assert set(names(weighted, "train")) == {"sum", "count", "sum_lesser", "print_greater", "or_sum"}
    batch = extra.sample(40, np.random.default_rng(0))
    assert batch.template.max().item() == len(TEMPLATES) + TRAIN_ONLY_TEMPLATES.index("sum_lesser")
    for bad in ("sum", "nope", "sum_lesser,sum_lesser", ","):
        with pytest.raises(ValueError, match="train_extra"):
            TableQATask(TableQAConfig(**base, train_extra=bad))


# -- table QA with text entries ------------------------------------------------------------------


@pytest.mark.parametrize("columns,text_columns", [(2, 1), (5, 2)])
def test_text_templates_are_answered_by_select_on_the_word(columns, text_columns):
    """Text entries: ``select`` with the question word's code as pivot is the text match, and every
    template (numeric or text) is answered by its four-step program."""
    task = TableQATask(TableQAConfig(columns=columns, text_columns=text_columns, text_pool=4, templates="all",
                                     min_rows=5, max_rows=12, value_low=-5, value_high=5))
    examples = task.examples("train", range(400))
    assert {ex["template"] for ex in examples} == set(TEMPLATES) | set(TEXT_TEMPLATES)
    batch, scalar, lookup = _execute(task, examples)
    assert task.correct(type("Out", (), {"answer": scalar, "lookup": lookup}), batch).all()
    for ex in examples:
        table, names = ex["table"], ex["names"]
        assert np.isin(table[:, :text_columns], [6, -6, 7, -7]).all()  # the codes of w0..w3
        assert ((table[:, text_columns:] >= -5) & (table[:, text_columns:] <= 5)).all()
        used = [names.index(w) for w in ex["words"] if w in names]
        if ex["template"] in TEXT_TEMPLATES:
            word = ex["words"][0]
            assert word in TEXT_WORDS[:4] and ex["numbers"] == [[6.0, -6.0, 7.0, -7.0][TEXT_WORDS.index(word)]]
            assert used[0] < text_columns <= min(used[1:], default=text_columns)  # X text, Y a number column
            assert (table[:, used[0]] == ex["numbers"][0]).any()  # the word is one of the column's entries
        else:
            assert all(k >= text_columns for k in used)  # numeric questions never name a text column


def test_text_template_answers_by_hand():
    table = np.array([[11, 3], [12, -2], [11, 5]])  # value_high 10: w0 = 11, w1 = 12
    assert answer_question("text_count", table, (0, 1, 0), [11.0])[0] == 2
    assert answer_question("text_sum", table, (0, 1, 0), [11.0])[0] == 8
    scalar, lookup = answer_question("text_print", table, (0, 1, 0), [12.0])
    assert scalar == 0 and lookup.tolist() == [[0, 0], [0, 1], [0, 0]]


def test_text_variant_vocabulary_batches_and_validation():
    plain, text = TableQATask(TableQAConfig()), TableQATask(TableQAConfig(text_columns=2))
    assert text.input_size == plain.input_size + len(TEXT_WORDS)  # a numbers-only model's embedding is unchanged
    assert set(text.template_names) == set(TEMPLATES[:12]) | set(TEXT_TEMPLATES)
    examples = [ex for ex in text.examples("test", range(200)) if ex["template"] in TEXT_TEMPLATES][:5]
    batch = text.collate(examples)
    assert (batch.number_positions[:, 0] == 0).all() and (batch.number_mask[:, 0] == 1).all()
    assert (batch.words.max() < text.input_size) and (batch.words[:, 0] >= plain.input_size).all()
    template, columns = parse_question(examples[0]["words"], examples[0]["names"], text.template_names)
    assert template == examples[0]["template"] and columns[0] < 2
    with pytest.raises(ValueError, match="text_columns"):
        TableQATask(TableQAConfig(columns=2, text_columns=2))
    with pytest.raises(ValueError, match="text_pool"):
        TableQATask(TableQAConfig(text_columns=1, text_pool=11))
    with pytest.raises(ValueError, match="text_columns > 0"):
        TableQATask(TableQAConfig(templates="text_count"))


def test_an_edited_text_question_is_parsed_with_its_words_code():
    """The interactive view's question editor: a text word is a word of the vocabulary and its code the pivot."""
    from augrnn.viz.views import _np_table_example

    task = TableQATask(TableQAConfig(text_columns=2))
    base = task.examples("test", [3])[0]
    text_name, number_name = base["names"][0], base["names"][3]
    ex = _np_table_example(task, {"question": f"w1 {text_name} sum {number_name}", "table_seed": 3})
    assert ex["template"] == "text_sum" and ex["words"] == ["w1", text_name, "sum", number_name]
    code = -101.0  # w1: value_low - 1
    assert ex["numbers"] == [code]
    assert ex["scalar"] == base["table"][base["table"][:, 0] == code, 3].sum()
    with pytest.raises(ValueError, match="vocabulary"):
        _np_table_example(TableQATask(TableQAConfig()), {"question": f"w1 {text_name} count", "table_seed": 3})
