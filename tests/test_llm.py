"""The large-model check (Fig. 10): prompts, token spans, metrics, and the whole pipeline on a
tiny randomly initialised GPT-2 (nothing is downloaded)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from icmeta import cli, figures, llm

DEMOS = [("a gripping , funny and humane film .", 1), ("dull , lifeless and far too long .", 0)]
QUERY = "warm , wise and beautifully shot ."


@pytest.fixture(scope="module")
def tiny():
    return llm.tiny_model(layers=3, heads=2, width=16)


def test_the_prompt_has_the_papers_format_and_its_spans():
    text, reviews, labels = llm.prompt_text(DEMOS, QUERY)
    assert text == ("Review: a gripping , funny and humane film .\nSentiment: positive\n"
                    "Review: dull , lifeless and far too long .\nSentiment: negative\n"
                    "Review: warm , wise and beautifully shot .\nSentiment:")
    assert [text[a:b] for a, b in reviews] == [d[0] for d in DEMOS]
    assert [text[a:b] for a, b in labels] == ["positive", "negative"]


def test_token_spans_cover_each_review_its_label_and_the_last_token(tiny):
    _, tok = tiny
    p = llm.encode(tok, DEMOS, QUERY)
    ids = list(p.input_ids)
    assert [tok.decode(ids[a:b]).strip() for a, b in p.reviews] == [d[0] for d in DEMOS]
    assert [tok.decode([ids[j]]) for j in p.labels] == [" positive", " negative"]  # one token, GPT-2 style
    assert p.last == len(ids) - 1 and tok.decode([ids[p.last]]) == ":"
    assert all(a < b <= j for (a, b), j in zip(p.reviews, p.labels))


def test_metrics_read_the_right_cells_of_hand_built_patterns():
    p = llm.Prompt("", reviews=((1, 4), (6, 8)), labels=(5, 9), last=11, input_ids=tuple(range(12)))
    attn = np.zeros((2, 2, 12, 12))
    attn[:, :, 11, 11] = [[0.3, 0.1], [0.2, 0.2]]  # bigram: head mean 0.2 (layer 1), 0.2 (layer 2)
    attn[0, :, 11, 5], attn[0, :, 11, 9] = 0.4, 0.2  # label attention, layer 1: mean over labels 0.3
    attn[1, 0, 5, 1:4] = 0.3  # chunk, layer 2 head 1: label 5 puts 0.9 on its 3 review tokens -> 0.3
    attn[1, 0, 9, 6:8] = 0.5  # label 9 puts 1.0 on its 2 tokens -> 0.5; mean 0.4; head 2 gives 0
    m = llm.prompt_metrics(attn, p)
    np.testing.assert_allclose(m[:, 0], [0.2, 0.2])
    np.testing.assert_allclose(m[:, 1], [0.3, 0.0])
    np.testing.assert_allclose(m[:, 2], [0.0, 0.2])


def test_measure_averages_each_prompts_metrics_per_layer(tiny):
    model, tok = tiny
    prompts = llm.sample_prompts(list(llm.EXAMPLE_REVIEWS), 4, seed=1)
    assert all({d[1] for d in demos} == {0, 1} and query not in [d[0] for d in demos] for demos, query in prompts)
    table = llm.measure(model, tok, prompts)
    assert list(table.layer) == [1, 2, 3]
    per = [llm.prompt_metrics(llm.attention(model, p), p) for p in (llm.encode(tok, d, q) for d, q in prompts)]
    np.testing.assert_allclose(table[list(llm.METRICS)].to_numpy(), np.mean(per, axis=0), rtol=1e-6)
    assert ((table[list(llm.METRICS)] > 0) & (table[list(llm.METRICS)] <= 1)).all().all()


def test_missing_model_and_data_stop_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(llm.LLMError, match="huggingface-cli download openai-community/gpt2-xl"):
        llm.load_model("gpt2-xl")
    with pytest.raises(llm.LLMError, match="no file at"):
        llm.load_sst2(tmp_path / "dev.tsv")
    (tmp_path / "bad.tsv").write_text("text\tsentiment\nok\t1\n")
    with pytest.raises(llm.LLMError, match="columns sentence and label"):
        llm.load_sst2(tmp_path / "bad.tsv")
    for argv in (["llm", "--data", str(tmp_path / "dev.tsv")], ["llm"], ["figure", "fig10"]):
        monkeypatch.setenv("ICMETA_RUNS", str(tmp_path / "runs"))
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), (argv, err)


@pytest.mark.slow
def test_the_command_measures_a_local_gpt2_and_the_figure_draws_it(tiny, tmp_path):
    model, tok = tiny
    folder = tmp_path / "gpt2-xl"  # a tiny random model saved where a real one would be
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    data = tmp_path / "dev.tsv"
    data.write_text("sentence\tlabel\n" + "".join(f"{t}\t{y}\n" for t, y in llm.EXAMPLE_REVIEWS))
    out = tmp_path / "runs" / "llm" / "gpt2-xl"
    p = subprocess.run([sys.executable, "-m", "icmeta", "llm", "--model", str(folder), "--data", str(data), "--prompts", "5",
                        "--out", str(out), "--no-progress"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    table, info = llm.load_results("gpt2-xl", root=tmp_path / "runs" / "llm")
    assert len(table) == 3 and info["prompts"] == 5 and info["layers"] == 3 and "commit" in info
    assert json.loads((out / "info.json").read_text())["model"] == str(folder)
    paths = figures.save("fig10", out=tmp_path / "fig", root=tmp_path / "runs")
    assert [x.name for x in paths] == ["fig10.png"] and paths[0].stat().st_size > 0
