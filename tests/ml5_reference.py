#!/usr/bin/python3
"""Reference logits of an ml5.js / TensorFlow char-RNN folder, computed with PyTorch from the raw files.

Independent of lstm-edge: it reads manifest.json, the raw little-endian float32 variable files and a
vocabulary (the folder's vocab.json, or --vocab FILE.json in the same format), and runs TensorFlow's
BasicLSTMCell as TensorFlow defines it, in float64, without reordering or transposing anything:

    z = concat(x, h) @ kernel + bias          kernel [I + H, 4H], split i, j, f, o
    c = c * sigmoid(f + forget_bias) + sigmoid(i) * tanh(j)      forget_bias = 1.0
    h = tanh(c) * sigmoid(o)
    logits = h_top @ softmax_w + softmax_b

The text is read as characters (newlines included), one stream from the zero state; perplexity =
exp(mean negative log-likelihood of every character after the first). Prints one JSON object:
{"tokens", "nll", "perplexity", "logits": [the first --logits rows, one per position]}.

usage: /usr/bin/python3 tests/ml5_reference.py DIR TEXT [--vocab FILE.json] [--logits N]
"""
import argparse
import json
import math
import os
import re
import sys

import torch


def load(dir_, name, shape):
    entry_path = os.path.join(dir_, name)
    data = torch.frombuffer(bytearray(open(entry_path, "rb").read()), dtype=torch.float32)
    return data.to(torch.float64).reshape(shape)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("dir")
    p.add_argument("text")
    p.add_argument("--vocab")
    p.add_argument("--logits", type=int, default=0)
    a = p.parse_args()
    manifest = json.load(open(os.path.join(a.dir, "manifest.json")))
    var = {name: load(a.dir, e["filename"], e["shape"]) for name, e in manifest.items() if e["shape"]}
    vocab = json.load(open(a.vocab or os.path.join(a.dir, "vocab.json")))
    if isinstance(vocab, list):
        vocab = {ch: i for i, ch in enumerate(vocab)}
    cells = sorted(
        (int(m.group(1) or 0), name[: m.start(2)])
        for name in var
        for m in [re.search(r"(?:cell_(\d+)/)?basic_lstm_cell/(weights|kernel)$", name)]
        if m
    )
    layers = []
    for _, prefix in cells:
        kernel = var.get(prefix + "weights", var.get(prefix + "kernel"))
        bias = var.get(prefix + "biases", var.get(prefix + "bias"))
        layers.append((kernel, bias))
    emb = next(v for k, v in var.items() if k.split("/")[-1] == "embedding")
    softmax_w = next(v for k, v in var.items() if k.split("/")[-1] == "softmax_w")
    softmax_b = next(v for k, v in var.items() if k.split("/")[-1] == "softmax_b")

    text = open(a.text, encoding="utf-8", newline="").read().replace("\r\n", "\n")
    missing = sorted({ch for ch in text if ch not in vocab})
    if missing:
        sys.exit(f"characters outside the vocabulary: {missing!r}")
    ids = [vocab[ch] for ch in text]
    state = [(torch.zeros(k.shape[1] // 4, dtype=torch.float64),) * 2 for k, _ in layers]
    nll = 0.0
    rows = []
    with torch.no_grad():
        for t, token in enumerate(ids[:-1]):
            x = emb[token]
            for li, (kernel, bias) in enumerate(layers):
                h, c = state[li]
                z = torch.cat([x, h]) @ kernel + bias
                i, j, f, o = torch.chunk(z, 4)
                c = c * torch.sigmoid(f + 1.0) + torch.sigmoid(i) * torch.tanh(j)
                h = torch.tanh(c) * torch.sigmoid(o)
                state[li] = (h, c)
                x = h
            logits = x @ softmax_w + softmax_b
            nll -= torch.log_softmax(logits, 0)[ids[t + 1]].item()
            if t < a.logits:
                rows.append(logits.tolist())
    n = len(ids) - 1
    print(json.dumps({"tokens": n, "nll": nll, "perplexity": math.exp(nll / n), "logits": rows}))


if __name__ == "__main__":
    main()
