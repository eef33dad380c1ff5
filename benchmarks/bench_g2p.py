"""G2P on CMUdict: Phonetisaurus 0.3.0 against our attentional seq2seq, same hash split.

    python benchmarks/bench_g2p.py --run-dir runs/g2p-default            # score a trained run
    python benchmarks/bench_g2p.py --run-dir runs/g2p-default --train    # train it first (default preset)
    python benchmarks/bench_g2p.py --run-dir ... --write BENCHMARKS.md   # replace the table there
    python benchmarks/bench_g2p.py --run-dir ... --combine 10            # + our output rescored with Phonetisaurus' 10-best

Both systems train on the train split (every pronunciation of every train word)
and are scored on the test split with :func:`augrnn.tasks.g2p.score_words`:
WER (a word is wrong unless it equals one of its references), PER (edit
distance to the closest reference over its length, averaged over words) and the
corpus PER (all those edit distances over all those references' phones), with
and without stress. Decoding speed is the whole test split, wall clock,
including Phonetisaurus' process start and our batching (``--threads`` torch
threads, default 1; ``--threads 1 2`` scores our rows once per setting), and
per CPU-second (this process and its children), which a loaded machine distorts less.
Phonetisaurus is the optional ``bench`` dependency (``pip install 'augrnn[bench]'``);
``--no-phonetisaurus`` skips it.

``--combine N`` adds a system combination (n-best rescoring, in the spirit of Rao et al. 2015's
LSTM + joint n-gram model): per word, our greedy output and Phonetisaurus' N best are the
candidates, and the one maximising log P_ours − w · score_Phonetisaurus wins (:func:`combine`);
the weights are chosen on the dev split, then the test split is scored once.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from augrnn.nn.precision import bf16_autocast_supported
from augrnn.tasks.g2p import load_lexicon, score_words, strip_stress, summarize_scores

START, END = "<!-- bench_g2p:start -->", "<!-- bench_g2p:end -->"


def _mean(values):
    return sum(values) / max(len(values), 1)


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (Phonetisaurus runs as a child)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _summary(hypotheses, references, seconds, cpu_seconds):
    scores = score_words(hypotheses, references)
    return {**summarize_scores({k: _mean(v) for k, v in scores.items()}), "words": len(hypotheses), "seconds": seconds,
            "words_per_s": len(hypotheses) / seconds, "cpu_seconds": cpu_seconds,
            "words_per_cpu_s": len(hypotheses) / cpu_seconds}


def quantize_int8(model: torch.nn.Module) -> torch.nn.Module:
    """A copy with int8 weights in every Linear and LSTM cell (dynamic quantization, CPU only).

    Activations stay float and are quantized per batch on the fly; used for the
    "int8" rows. The encoder's ``nn.LSTM`` layers stay float.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notice
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear, torch.nn.LSTMCell}, dtype=torch.qint8)


def phonetisaurus_model(work: Path, stress: bool = True) -> tuple[Path, float]:
    """Phonetisaurus trained on the train split (``stress=False``: stress digits stripped, duplicate
    pronunciations merged) in ``work``, or the one trained there before, and its training seconds."""
    import phonetisaurus

    work.mkdir(parents=True, exist_ok=True)
    name = "phonetisaurus" if stress else "phonetisaurus_nostress"
    model, record = work / f"{name}.fst", work / f"{name}_train.json"
    if model.exists() and record.exists():  # trained before by this script: reuse, keep its time
        return model, json.loads(record.read_text())["train_s"]
    train = {w: [list(p) for p in (prons if stress else dict.fromkeys(map(strip_stress, prons)))]
             for w, prons in load_lexicon()["train"].items()}
    started = time.perf_counter()
    phonetisaurus.train(train, model)
    train_seconds = time.perf_counter() - started
    record.write_text(json.dumps({"train_s": train_seconds, "train_words": len(train)}))
    return model, train_seconds


def run_phonetisaurus(work: Path, stress: bool = True) -> dict:
    """Train (or reuse) and score Phonetisaurus. ``stress=False`` trains it on the train split with
    the stress digits stripped (duplicate pronunciations merged): its row has no stress columns."""
    import phonetisaurus

    model, train_seconds = phonetisaurus_model(work, stress)
    test = load_lexicon()["test"]
    words = sorted(test)
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    predicted = dict(phonetisaurus.predict(words, model))
    seconds, cpu_seconds = time.perf_counter() - started, _cpu_seconds() - cpu_started
    hypotheses = [predicted.get(w, []) for w in words]
    row = _summary(hypotheses, [test[w] for w in words], seconds, cpu_seconds)
    # Not measured: rusage reported 0.7 CPU-s for a 14.5 s decode of the test split, so the
    # CPU time of Phonetisaurus' decoder processes is not (all) counted here.
    row["words_per_cpu_s"] = None
    if not stress:
        row.update(wer_stress=None, per_stress=None, per_corpus_stress=None)
    system = "Phonetisaurus 0.3.0" + ("" if stress else ", trained without stress")
    return {"system": system, "train_s": train_seconds, **row}


def training_seconds(run_dir: Path) -> float:
    """The run's training time: ``elapsed_s`` of its last evaluation (NaN without a metrics log)."""
    log = run_dir / "metrics.jsonl"
    return json.loads(log.read_text().splitlines()[-1]).get("elapsed_s", float("nan")) if log.exists() else float("nan")


def decode(task, model, words: list[str], batch_size: int, device) -> list[tuple[str, ...]]:
    """The run's own decoding (greedy or beam, as loaded) of ``words`` in batches, with the retrieved
    neighbours if the run has them: the path of `augrnn eval` / `predict` (G2PTask.decode_words)."""
    phones = []
    with torch.no_grad():
        for start in range(0, len(words), batch_size):
            decoded = task.decode_words(model, words[start : start + batch_size], device)
            phones.extend(task.phones_of(decoded.tokens, decoded.lengths))
    return phones


def run_ours(run_dir: Path, beam_size: int, batch_size: int, int8: bool = False, threads: int = 1,
             bf16: bool = False) -> dict:
    from augrnn.train import load_run

    # the decoding path of `augrnn eval` / `predict` (G2PTask.decode): beam size, length penalty 1, precision
    cfg, model, task, device = load_run(run_dir, which="best", overrides=[
        f"beam_size={beam_size}", "length_penalty=1.0", f"decode_precision={'bf16' if bf16 else 'fp32'}"])
    torch.set_num_threads(threads)  # after load_run, which sets the run's own `threads`
    if int8:
        model = quantize_int8(model)
    test = load_lexicon()["test"]
    words = sorted(test, key=lambda w: (len(w), w))
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    hypotheses = decode(task, model, words, batch_size, device)
    seconds, cpu_seconds = time.perf_counter() - started, _cpu_seconds() - cpu_started
    name = (f"augrnn seq2seq ({'greedy' if beam_size == 1 else f'beam {beam_size}'}{', int8' if int8 else ''}"
            f"{', bf16' if bf16 else ''}{f', {threads} threads' if threads > 1 else ''})")
    return {"system": name, "train_s": training_seconds(run_dir),
            **_summary(hypotheses, [test[w] for w in words], seconds, cpu_seconds)}


def phonetisaurus_nbest(words: list[str], model: Path, n: int) -> dict[str, list[tuple[float, tuple[str, ...]]]]:
    """Phonetisaurus' ``n`` best pronunciations of each word with their scores (-log probability,
    lower is better), best first: ``phonetisaurus-apply --nbest n -v``, the package's own binary
    (``phonetisaurus.predict`` has ``nbest`` too but drops the scores)."""
    import phonetisaurus

    with tempfile.NamedTemporaryFile("w", suffix=".txt") as listing:
        listing.write("\n".join(words) + "\n")
        listing.flush()
        output = subprocess.run(["phonetisaurus-apply", "--model", str(model), "--word_list", listing.name,
                                 "--nbest", str(n), "-v"], env=phonetisaurus.guess_environment(),
                                capture_output=True, text=True, check=True).stdout
    result: dict[str, list] = {}
    for line in output.splitlines():
        fields = line.split("\t")
        if len(fields) == 3:  # word, score, phones (-v also prints log lines)
            result.setdefault(fields[0], []).append((float(fields[1]), tuple(fields[2].split())))
    return result


def candidate_log_probs(task, model, device, pairs: list[tuple[str, tuple[str, ...]]], batch_size: int) -> list[float]:
    """log P(phones | word) under our model (teacher forcing, the end token included) for each pair."""
    order = sorted(range(len(pairs)), key=lambda i: (len(pairs[i][0]), len(pairs[i][1])))
    result = [0.0] * len(pairs)
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            chunk = [pairs[i] for i in order[start : start + batch_size]]
            batch = task.make_batch([w for w, _ in chunk], [p for _, p in chunk], [()] * len(chunk), device)
            extra = {} if batch.memory is None else {"memory": batch.memory}
            logits = model(batch.source, batch.source_mask, batch.target_in, **extra).float()
            token = torch.log_softmax(logits, -1).gather(-1, batch.target_out.unsqueeze(-1)).squeeze(-1)
            for i, value in zip(order[start : start + batch_size], (token * batch.target_mask).sum(1).tolist()):
                result[i] = value
    return result


def combine(candidates: list[list[tuple[tuple[str, ...], float, float | None]]], weight: float, missing: float) -> list:
    """Per word, the candidate maximising log P_ours − ``weight`` · Phonetisaurus' score; ``candidates``
    holds (phones, our log P, Phonetisaurus' score or None) per word, and a candidate outside
    Phonetisaurus' n-best is counted at the word's worst listed score + ``missing``."""
    chosen = []
    for options in candidates:
        listed = [s for _, _, s in options if s is not None]
        worst = max(listed, default=0.0) + missing
        chosen.append(max(options, key=lambda o: o[1] - weight * (worst if o[2] is None else o[2]))[0])
    return chosen


#: The (weight, missing) pairs tried on the dev split by :func:`run_combined`.
COMBINE_GRID = [(w / 10, m) for w in range(0, 21) for m in (0.0, 1.0, 2.0, 4.0)]


def run_combined(run_dir: Path, work: Path, nbest: int, batch_size: int, threads: int = 1,
                 chosen: dict | None = None) -> dict:
    """Our greedy output and Phonetisaurus' ``nbest`` rescored together (:func:`combine`): the two
    weights chosen on the dev split (lowest WER, then corpus PER), then the test split scored once.
    Decoding speed counts Phonetisaurus' n-best, our greedy decoding and the rescoring pass.
    ``chosen``: the row of an earlier call (another thread count), whose dev choice is reused."""
    from augrnn.train import load_run

    fst, fst_train_s = phonetisaurus_model(work)
    cfg, model, task, device = load_run(run_dir, which="best", overrides=["beam_size=1", "decode_precision=fp32"])
    torch.set_num_threads(threads)
    lexicon = load_lexicon()

    def candidates(words):
        listed = phonetisaurus_nbest(words, fst, nbest)
        greedy = decode(task, model, words, batch_size, device)
        options = [dict((p, s) for s, p in reversed(listed.get(w, []))) for w in words]  # the best score of a repeat
        for option, phones in zip(options, greedy):
            option.setdefault(phones, None)
        pairs = [(w, p) for w, option in zip(words, options) for p in option]
        log_probs = iter(candidate_log_probs(task, model, device, pairs, batch_size))
        return [[(p, next(log_probs), s) for p, s in option.items()] for option in options]

    if chosen is None:
        dev = sorted(lexicon["dev"], key=lambda w: (len(w), w))
        dev_candidates = candidates(dev)
        dev_references = [lexicon["dev"][w] for w in dev]

        def dev_score(setting):
            scores = score_words(combine(dev_candidates, *setting), dev_references)
            means = summarize_scores({k: _mean(v) for k, v in scores.items()})
            return means["wer"], means["per_corpus"]

        weight, missing = min(COMBINE_GRID, key=dev_score)
        dev_wer, dev_per_corpus = dev_score((weight, missing))
    else:
        weight, missing, dev_wer, dev_per_corpus = (chosen[k] for k in ("weight", "missing", "dev_wer", "dev_per_corpus"))
    test = lexicon["test"]
    words = sorted(test, key=lambda w: (len(w), w))
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    hypotheses = combine(candidates(words), weight, missing)
    seconds, cpu_seconds = time.perf_counter() - started, _cpu_seconds() - cpu_started
    row = {"system": f"augrnn greedy + Phonetisaurus {nbest}-best, rescored (weight {weight:g}, missing {missing:g}"
                     f"{f', {threads} threads' if threads > 1 else ''})",
           "train_s": training_seconds(run_dir) + fst_train_s,
           **_summary(hypotheses, [test[w] for w in words], seconds, cpu_seconds)}
    row["words_per_cpu_s"] = None  # Phonetisaurus' processes are not (all) counted (run_phonetisaurus)
    row.update(weight=weight, missing=missing, dev_wer=dev_wer, dev_per_corpus=dev_per_corpus)
    return row


def cpu_rate(row: dict) -> str:
    return "—" if row.get("words_per_cpu_s") is None else f"{row['words_per_cpu_s']:.0f}"


def _pct(value) -> str:
    return "—" if value is None else f"{value:.2f}"


def table(rows: list[dict]) -> str:
    lines = ["| system | WER % | PER % | PER % (corpus) | WER % (stress) | PER % (stress) | PER % (corpus, stress) "
             "| test words | decode words/s (wall) | decode words/CPU-s | training (min) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['system']} | {_pct(r['wer'])} | {_pct(r['per'])} | {_pct(r['per_corpus'])} | {_pct(r['wer_stress'])} "
                     f"| {_pct(r['per_stress'])} | {_pct(r['per_corpus_stress'])} | {r['words']} | {r['words_per_s']:.0f} "
                     f"| {cpu_rate(r)} | {r['train_s'] / 60:.1f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, required=True, help="our trained seq2seq g2p run")
    parser.add_argument("--train", action="store_true", help="train the run first with the default preset")
    parser.add_argument("--beam", type=int, default=5, help="beam size of the beam-search row")
    parser.add_argument("--batch-size", type=int, default=1024, help="words per decoding batch (length-sorted)")
    parser.add_argument("--int8", action="store_true", help="also score greedy decoding with int8 dynamic quantization")
    parser.add_argument("--bf16", action="store_true", help="also score greedy decoding under bfloat16 autocast")
    parser.add_argument("--threads", type=int, nargs="+", default=[1], help="torch threads for our rows (each value once)")
    parser.add_argument("--no-phonetisaurus", action="store_true",
                        help="skip Phonetisaurus (--write keeps the table's Phonetisaurus rows)")
    parser.add_argument("--only-phonetisaurus", action="store_true", help="skip our model")
    parser.add_argument("--phonetisaurus-without-stress", action="store_true",
                        help="also train and score Phonetisaurus on the stress-free lexicon (the no-stress reading of the issue's bar)")
    parser.add_argument("--combine", type=int, metavar="N", default=0,
                        help="also score our greedy output rescored with Phonetisaurus' N best (weights chosen on dev)")
    parser.add_argument("--work", type=Path, default=Path("runs/bench_g2p"), help="where the Phonetisaurus model goes")
    parser.add_argument("--write", type=Path, help="replace the table between the bench_g2p markers of this file")
    args = parser.parse_args()
    if args.combine < 0:
        parser.error(f"--combine must be >= 0 (0 = off), got {args.combine}")
    if args.combine and args.only_phonetisaurus:
        parser.error("--combine needs our model; it cannot go with --only-phonetisaurus")
    torch.set_num_threads(1)
    if args.train:
        subprocess.run([sys.executable, "-m", "augrnn.cli", "train", "seq2seq", "g2p", "--run-dir", str(args.run_dir),
                        "--no-progress"], check=True)
    if args.bf16 and not bf16_autocast_supported("cpu"):
        print("bench_g2p: this CPU has no native bfloat16; the bf16 rows are left out", file=sys.stderr)
        args.bf16 = False
    rows = []
    chosen = None  # the combination's dev choice, made once for all thread counts
    if not args.no_phonetisaurus:
        for stress in (True, False)[: 1 + args.phonetisaurus_without_stress]:
            rows.append(run_phonetisaurus(args.work, stress))
            print(json.dumps(rows[-1]), flush=True)
    ours = [] if args.only_phonetisaurus else (
        [(1, False, False)] + [(1, True, False)] * args.int8 + [(1, False, True)] * args.bf16 + [(args.beam, False, False)])
    for threads in args.threads:
        for beam, int8, bf16 in ours:
            rows.append(run_ours(args.run_dir, beam, args.batch_size, int8, threads, bf16))
            print(json.dumps(rows[-1]), flush=True)
        if args.combine:
            rows.append(chosen := run_combined(args.run_dir, args.work, args.combine, args.batch_size, threads, chosen))
            print(json.dumps(rows[-1]), flush=True)
    text = table(rows)
    print(text)
    if args.write:
        content = args.write.read_text(encoding="utf-8")
        if START not in content or END not in content:
            raise SystemExit(f"{args.write} has no {START} ... {END} block")
        head, rest = content.split(START, 1)
        old, tail = rest.split(END, 1)
        if args.no_phonetisaurus:  # keep the Phonetisaurus rows measured by an earlier run
            lines = text.splitlines()
            columns = lines[0].count("|")
            kept = [line for line in old.splitlines() if line.startswith("| Phonetisaurus")]
            if any(line.count("|") != columns for line in kept):  # a table from before the corpus-PER columns
                print(f"bench_g2p: {args.write}'s Phonetisaurus rows have other columns; not kept", file=sys.stderr)
                kept = []
            text = "\n".join(lines[:2] + kept + lines[2:])
        args.write.write_text(f"{head}{START}\n{text}\n{END}{tail}", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
