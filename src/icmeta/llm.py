"""The paper's large-model check (Fig. 10, Appendix N): the three circuit metrics, layer by
layer, in a pretrained GPT-2 reading 2-shot SST-2 prompts.

Each prompt holds one positive and one negative demonstration, in random order, then the query::

    Review: {text}\\nSentiment: {label}\\nReview: {text}\\nSentiment: {label}\\nReview: {query}\\nSentiment:

Per layer, averaged over heads and prompts (the paper's Appendix N):

- Bigram: the attention of the last token to itself;
- Label Attention: the last token's attention to each demonstration's label token, averaged
  over the demonstrations;
- Chunk Example: each label token's total attention to its review's tokens, divided by the
  review's token count, averaged over the demonstrations.

The model is Hugging Face `transformers`' GPT-2 (eager attention, so the patterns are
returned). Nothing is downloaded: `load_model` reads a local folder or the Hugging Face cache
and `load_sst2` a local copy of SST-2; where either is missing they stop with one line saying
what is missing and how to provide it. The tests (and the book, labelled as such) run the same
pipeline on a tiny randomly initialised GPT-2 built from a config (`tiny_model`).
"""

from __future__ import annotations

import csv
import json
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from .store.io import PROJECT_ROOT, StoreError, default_runs_root, git_state

LABELS = {0: "negative", 1: "positive"}
METRICS = ("bigram", "label_attention", "chunk_example")
# the one spelling of the command that measures a model (the book, the errors and the status table)
COMMAND = "python -m icmeta llm --model {model} --data /path/to/sst2/dev.tsv"


class LLMError(RuntimeError):
    """Something the large-model check needs is missing; the message is one line for the user."""


# ------------------------------------------------------------------------------- prompts

@dataclass(frozen=True)
class Prompt:
    """A 2-shot prompt and where its parts are, in characters and in tokens.

    `reviews[d]` is the token index range (start, stop) of demonstration d's review text,
    `labels[d]` the token index of its label word, `last` the index of the last token."""

    text: str
    reviews: tuple[tuple[int, int], ...]
    labels: tuple[int, ...]
    last: int
    input_ids: tuple[int, ...]


def prompt_text(demos: Sequence[tuple[str, int]], query: str) -> tuple[str, list[tuple[int, int]], list[tuple[int, int]]]:
    """The prompt in the paper's format, with the character spans of each demonstration's
    review and label word."""
    parts, reviews, labels, pos = [], [], [], 0
    for text, label in demos:
        head = "Review: "
        reviews.append((pos + len(head), pos + len(head) + len(text)))
        line = f"{head}{text}\nSentiment: "
        labels.append((pos + len(line), pos + len(line) + len(LABELS[label])))
        line += f"{LABELS[label]}\n"
        parts.append(line)
        pos += len(line)
    parts.append(f"Review: {query}\nSentiment:")
    return "".join(parts), reviews, labels


def encode(tokenizer, demos: Sequence[tuple[str, int]], query: str) -> Prompt:
    """Tokenise a prompt and map its character spans onto tokens (a fast tokenizer's offsets).

    A review covers every token that overlaps its text; a label word is the first token that
    overlaps it (GPT-2 spells " positive" and " negative" as one token each; the leading space
    belongs to the label token)."""
    text, reviews, labels = prompt_text(demos, query)
    enc = tokenizer(text, return_offsets_mapping=True, add_special_tokens=False)
    offsets = enc["offset_mapping"]

    def covering(lo: int, hi: int) -> list[int]:
        return [i for i, (a, b) in enumerate(offsets) if b > lo and a < hi and b > a]

    rev = []
    for lo, hi in reviews:
        idx = covering(lo, hi)
        if not idx:
            raise LLMError(f"a demonstration's review maps to no token: {text[lo:hi]!r}")
        rev.append((idx[0], idx[-1] + 1))
    lab = []
    for lo, hi in labels:
        idx = covering(lo, hi)
        if not idx:
            raise LLMError(f"a label maps to no token: {text[lo:hi]!r}")
        lab.append(idx[0])
    return Prompt(text, tuple(rev), tuple(lab), len(offsets) - 1, tuple(enc["input_ids"]))


def token_roles(tokenizer, p: Prompt) -> pd.DataFrame:
    """One row per token of a prompt: position, the token's text (a space shown as ␣, a newline as
    \\n) and the part the metrics read it as (``review 1``, ``label 1``, ..., ``last``; empty for
    the template's words and the query)."""
    role = [""] * len(p.input_ids)
    for d, ((a, b), j) in enumerate(zip(p.reviews, p.labels), start=1):
        role[a:b] = [f"review {d}"] * (b - a)
        role[j] = f"label {d}"
    role[p.last] = "last (the query's answer is read here)"
    return pd.DataFrame({"position": range(len(role)), "token": [tokenizer.decode([i]).replace(" ", "␣").replace("\n", "\\n") for i in p.input_ids],
                         "read as": role})


def sample_prompts(data: Sequence[tuple[str, int]], n: int, seed: int = 0) -> list[tuple[list[tuple[str, int]], str]]:
    """`n` prompts: one positive and one negative demonstration in random order, and a query
    drawn from the other sentences (its label is not used: the check reads attention only)."""
    pos = [d for d in data if d[1] == 1]
    neg = [d for d in data if d[1] == 0]
    if len(pos) < 1 or len(neg) < 1 or len(data) < 3:
        raise LLMError(f"need at least one positive, one negative and one more sentence (got {len(pos)} positive, {len(neg)} negative)")
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        demos = [rng.choice(pos), rng.choice(neg)]
        rng.shuffle(demos)
        query = rng.choice([d for d in data if d not in demos])
        out.append((demos, query[0]))
    return out


# ------------------------------------------------------------------------------- metrics

def prompt_metrics(attn: np.ndarray, p: Prompt) -> np.ndarray:
    """The three metrics per layer for one prompt, averaged over heads.

    Args:
        attn: attention probabilities, shape (layers, heads, tokens, tokens); rows attend to
            columns.
    Returns:
        array (layers, 3): bigram, label attention, chunk example.
    """
    last = p.last
    bigram = attn[:, :, last, last]
    label = np.mean([attn[:, :, last, j] for j in p.labels], axis=0)
    chunk = np.mean([attn[:, :, j, a:b].sum(-1) / (b - a) for j, (a, b) in zip(p.labels, p.reviews)], axis=0)
    return np.stack([bigram.mean(1), label.mean(1), chunk.mean(1)], axis=-1)


def attention(model, p: Prompt) -> np.ndarray:
    """The model's attention patterns for one prompt: (layers, heads, tokens, tokens)."""
    import torch

    with torch.no_grad():
        out = model(torch.tensor([p.input_ids]), output_attentions=True)
    return torch.stack(out.attentions)[:, 0].float().numpy()


def measure(model, tokenizer, prompts: Sequence[tuple[list[tuple[str, int]], str]], progress: bool = False) -> pd.DataFrame:
    """Per layer: each metric's mean (and standard error) over the prompts, heads averaged."""
    from tqdm.auto import tqdm

    per = []
    for demos, query in tqdm(prompts, disable=not progress, desc="prompts"):
        p = encode(tokenizer, demos, query)
        if len(p.input_ids) > model.config.n_positions:
            raise LLMError(f"a prompt of {len(p.input_ids)} tokens is longer than the model's {model.config.n_positions} positions")
        per.append(prompt_metrics(attention(model, p), p))
    a = np.stack(per)  # (prompts, layers, 3)
    rows = []
    for layer in range(a.shape[1]):
        row = {"layer": layer + 1}
        for k, name in enumerate(METRICS):
            row[name] = float(a[:, layer, k].mean())
            row[f"{name}_se"] = float(a[:, layer, k].std(ddof=1) / np.sqrt(len(a))) if len(a) > 1 else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------- model and data

def load_model(name: str):
    """A pretrained GPT-2 and its tokenizer from a local folder or the Hugging Face cache
    (never downloads). `LLMError` in one line when the weights are not there."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    repo = {"gpt2-xl": "openai-community/gpt2-xl", "gpt2": "openai-community/gpt2"}.get(name, name)
    try:
        tok = AutoTokenizer.from_pretrained(repo, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(repo, local_files_only=True, attn_implementation="eager")
    except (OSError, ValueError) as e:
        where = f"the folder {name}" if Path(name).exists() else f"the Hugging Face cache ({_hf_cache()}) under {repo}"
        raise LLMError(f"model {name!r}: no weights and tokenizer in {where} ({type(e).__name__}); download them where there is "
                       f"internet with `huggingface-cli download {repo}` (then copy the cache here), or pass --model /path/to/folder") from None
    if getattr(model.config, "model_type", "") != "gpt2":
        raise LLMError(f"model {name!r} is a {model.config.model_type}, not GPT-2 (allowed: gpt2, gpt2-xl or a GPT-2 folder)")
    return model.eval(), tok


def _hf_cache() -> str:
    return os.environ.get("HF_HUB_CACHE") or os.environ.get("HF_HOME") or "~/.cache/huggingface"


def load_sst2(path: str | Path) -> list[tuple[str, int]]:
    """SST-2 sentences and labels (0 negative, 1 positive) from a local file: GLUE's
    ``dev.tsv`` / ``train.tsv`` (columns ``sentence``, ``label``), or a CSV with the same
    columns. `LLMError` in one line when it is missing or not in that form."""
    path = Path(path)
    if not path.is_file():
        raise LLMError(f"SST-2: no file at {path}; get GLUE's SST-2 (dev.tsv: columns sentence, label) where there is "
                       f"internet and pass --data /path/to/dev.tsv")
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t" if path.suffix == ".tsv" else ","))
    if not rows or not {"sentence", "label"} <= set(rows[0]):
        raise LLMError(f"SST-2: {path} needs the columns sentence and label (found: {', '.join(rows[0]) if rows else 'nothing'})")
    try:
        data = [(r["sentence"].strip(), int(r["label"])) for r in rows]
    except ValueError:
        raise LLMError(f"SST-2: {path}: labels must be 0 or 1") from None
    if any(lab not in LABELS for _, lab in data):
        raise LLMError(f"SST-2: {path}: labels must be 0 or 1")
    return data


# A handful of reviews written for this project (not SST-2): the tests' and the book's input
# for the tiny random model, so the pipeline runs where the real data is not present.
EXAMPLE_REVIEWS: tuple[tuple[str, int], ...] = (
    ("a gripping , funny and humane film .", 1),
    ("dull , lifeless and far too long .", 0),
    ("the best thing on screen this year .", 1),
    ("a waste of two good actors and two hours .", 0),
    ("warm , wise and beautifully shot .", 1),
    ("the plot makes no sense and nobody seems to care .", 0),
    ("it earns every one of its tears .", 1),
    ("a tired copy of better movies .", 0),
    ("sharp writing and a terrific cast .", 1),
    ("flat jokes , flat characters , flat everything .", 0),
    ("you will leave the theater smiling .", 1),
    ("i wanted my evening back .", 0),
)


def tiny_model(texts: Sequence[str] = (), layers: int = 4, heads: int = 4, width: int = 32, seed: int = 0):
    """A randomly initialised GPT-2 (not trained: its attention means nothing) with a small
    tokenizer built here (no download): GPT-2's byte-level pre-tokenizer, so words carry their
    leading space as in GPT-2 (" positive" is one token), over a word vocabulary of `texts`, the
    example reviews and the prompt's words. The pipeline's stand-in where the real model is not
    present."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    words = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    words.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    words.decoder = decoders.ByteLevel()
    corpus = [" " + t for t in (*texts, *(t for t, _ in EXAMPLE_REVIEWS))] + [prompt_text([("x", 1), ("x", 0)], "x")[0]]
    words.train_from_iterator(corpus, trainers.WordLevelTrainer(special_tokens=["[UNK]"]))
    tok = PreTrainedTokenizerFast(tokenizer_object=words, unk_token="[UNK]")
    torch.manual_seed(seed)
    cfg = GPT2Config(vocab_size=tok.vocab_size, n_positions=256, n_embd=width, n_layer=layers, n_head=heads,
                     bos_token_id=tok.unk_token_id, eos_token_id=tok.unk_token_id)
    model = GPT2LMHeadModel(cfg)
    model.config._attn_implementation = "eager"
    return model.eval(), tok


# ------------------------------------------------------------------------------- results

def _results_root() -> Path:

    return default_runs_root() / "llm"


def run(model_name: str, data_path: str | Path | None, n: int = 100, seed: int = 0, out: Path | None = None,
        progress: bool = True) -> Path:
    """Measure `model_name` on `n` SST-2 prompts and store the per-layer table with how it was
    made (model, prompts, seed, commit, hardware, wall time) under runs/llm/<model>/."""
    import platform


    if not 1 <= n <= 100_000:
        raise LLMError(f"invalid value for 'prompts': {n} (allowed: 1 to 100000)")
    if data_path is None:
        raise LLMError("SST-2: no --data given; pass --data /path/to/dev.tsv (GLUE's SST-2: columns sentence, label)")
    data = load_sst2(data_path)  # before the model: a missing file should not wait for 6 GB of weights
    model, tok = load_model(model_name)
    t0 = time.time()
    table = measure(model, tok, sample_prompts(data, n, seed), progress=progress)
    out = Path(out) if out else _results_root() / Path(model_name).name
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "layers.csv", index=False)
    info = {"model": model_name, "layers": int(model.config.n_layer), "heads": int(model.config.n_head),
            "prompts": n, "seed": seed, "data": str(data_path), "format": "Review: {text}\\nSentiment: {label}",
            **git_state(), "hardware": platform.processor() or platform.machine(), "wall_time_s": time.time() - t0}
    (out / "info.json").write_text(json.dumps(info, indent=1))
    return out


def load_results(model_name: str = "gpt2-xl", root: Path | None = None) -> tuple[pd.DataFrame, dict]:
    """A stored measurement (per-layer table, how it was made); `icmeta.store.StoreError` (one
    line, naming the command that makes it) when there is none."""
    d = (Path(root) if root else _results_root()) / Path(model_name).name
    if not (d / "layers.csv").is_file():

        shown = d.relative_to(PROJECT_ROOT) if d.is_relative_to(PROJECT_ROOT) else d
        raise StoreError(f"no stored {model_name} measurement in {shown}; make it where the weights are with: "
                         + COMMAND.format(model=model_name))
    return pd.read_csv(d / "layers.csv"), json.loads((d / "info.json").read_text())


# ------------------------------------------------------------------------------- figure



def stand_in_metrics(prompts: int = 12) -> pd.DataFrame:
    """The pipeline's metrics on the tiny random GPT-2 (`tiny_model`) reading `prompts` 2-shot prompts of
    `EXAMPLE_REVIEWS`: a check that the pipeline runs, not a result."""
    model, tokenizer = tiny_model()
    return measure(model, tokenizer, sample_prompts(EXAMPLE_REVIEWS, prompts, seed=0))
