#!/usr/bin/env python3
"""Re-train an LSTM language model with its compression in place, for lstm-edge.

Input: a trained model in the form `deno task compile` reads (an ONNX file as torch.onnx.export writes
Embedding -> LSTM x N -> Linear, vocabulary in metadata_props "vocab" or --vocab), a recipe in the
compiler's grammar (the JSON `compile --recipe` takes), and training / validation text (PTB format).

Each weight matrix (embedding, layers.K.w_ih, layers.K.w_hh, decoder) is replaced by the parametrization of
the method its recipe rule names, initialized from the trained weights the way the compiler compresses it:

  f32, f16, int8[:gN], int4[:gN]  the matrix itself, with fake quantization (straight-through estimator)
                                  by the compiler's quantizer: symmetric, scale = max|group| / qmax in
                                  float32, q = round half away from zero, same groups
  lowrank:R, lowrank:eE           truncated-SVD factors A (rows x r), B (r x cols), sigma on the tall
                                  side's factor as the compiler puts it; each factor fake-quantized
  tt:R, tt:tT                     TT-SVD cores with the compiler's mode factorization (3 cores, balanced
                                  modes, padding) and ranks; each core fake-quantized
  prune:S                         magnitude pruning reached gradually (Zhu & Gupta's cubic schedule over
                                  --prune-fraction of the first epoch), then a fixed mask; the kept values
                                  fake-quantized in CSR order (int8 groups of 64, int4 of 32 non-zeros)
  prune:S:bRxC                    the same with whole blocks of R x C (1 or 4 x 4, 8 or 16) by block norm;
                                  the kept blocks' values fake-quantized in SparseBlocks' order (f32 or
                                  int8, groups of 512 values)

Training: SGD (default: lr 0.05, halved per epoch after the first) or Adam, gradient-norm clipping,
distillation from the original model (default: the loss is the KL divergence to the original model's
next-token distribution; --distill 0 for the cross-entropy on the text), early stopping on validation
perplexity (the best epoch is kept, the compressed model before re-training included), deterministic seeds,
checkpoints and --resume, one log line per epoch. Measured on PTB-small (valid perplexity on the first 20 000
tokens, f32 145.23): int4 + low-rank embedding 152.10 as compressed, 148.11 after one distilled epoch at lr
0.03 — but 151.52 with the cross-entropy (the undropped model overfits its training text: train perplexity
≈ 50); lowrank:50+int8 everywhere 193.23 as compressed, 151.72 after one distilled epoch at lr 0.05, while at
lr 0.3 with the cross-entropy it diverged (260.50).

Outputs, for --out OUT.onnx:
  OUT.onnx             the re-trained model as a plain ONNX (dense weights reconstructed from the trained
                       parts, so onnxruntime runs it), vocabulary and tokenizer metadata kept, and the
                       trained parts themselves (metadata_props "lstm_edge.trained_parts" + initializers),
                       so that `deno task compile OUT.onnx` packs exactly what was trained (compiler/onnx/
                       README.md, "Trained parts")
  OUT.reference.json   PyTorch's valid (and, with --test, test) perplexity of the re-trained model by the
                       project's convention, and the logits of a fixed sentence
  OUT.train.log        one line per epoch (appended to on --resume)

Perplexity convention (the same as `deno task eval`): one stream of tokens (whitespace-separated words,
one <eos> appended per line, normalized by the model's tokenizer rules), batch 1, zero initial state,
state carried, PPL = exp(mean negative log-likelihood of every token after the first).

Example:
  /usr/bin/python3 models/finetune.py --model models/ptb-small.onnx --recipe R.json \\
    --train ../shared/data/ptb/ptb.train.txt --valid ../shared/data/ptb/ptb.valid.txt \\
    --test ../shared/data/ptb/ptb.test.txt --out /tmp/ptb-lowrank.onnx --epochs 3 --threads 1
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import re
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train import (  # noqa: E402
    LstmLanguageModel, batchify, export_onnx, log, record_batch, save_atomic, write_reference)

PARTS_KEY = "lstm_edge.trained_parts"
PARTS_FORMAT = 1
INT4_DEFAULT_GROUP = 32
CSR_INT8_DEFAULT_GROUP = 64
BLOCK_INT8_DEFAULT_GROUP = 512  # compiler/methods/prune_blocks.ts (a multiple of every block size)
BLOCK_ROWS, BLOCK_COLS = (1, 4), (4, 8, 16)  # compiler/methods/prune_blocks.ts
TT_DEFAULT_CORES = 3


class FinetuneError(Exception):
    """A problem with the inputs, printed as one line (exit code 2)."""


# ---------------------------------------------------------------------------------------------------------
# Reading the model (the subset of ONNX graphs torch.onnx.export writes for Embedding -> LSTM -> Linear)

ONNX_TO_IR_GATES = [0, 2, 3, 1]  # IR (= PyTorch) gate blocks i, f, g, o come from ONNX blocks i, o, f, c


def _gates(a: np.ndarray, hidden: int) -> np.ndarray:
    blocks = [a[k * hidden:(k + 1) * hidden] for k in range(4)]
    return np.concatenate([blocks[k] for k in ONNX_TO_IR_GATES], axis=0)


def fold_constants(graph, values: dict) -> None:
    """Evaluates the weight-only subgraphs an export without constant folding leaves (PyTorch reorders the
    gates with Slice/Concat and adds the direction axis with Unsqueeze; a tied decoder is a Transpose of the
    embedding), so that every LSTM and decoder weight is a value. Nodes with a non-constant input are left."""
    import onnx

    for node in graph.node:
        ins = [values.get(n) if n else None for n in node.input]
        if node.op_type == "Constant" or not node.input or any(n and n not in values for n in node.input):
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        op, x = node.op_type, ins[0]
        if op in ("Identity", "Cast"):
            out = x
        elif op == "Unsqueeze":
            axes = attrs.get("axes", ins[1].tolist() if len(ins) > 1 and ins[1] is not None else [])
            out = x
            for axis in sorted(a % (x.ndim + len(axes)) for a in axes):
                out = np.expand_dims(out, axis)
        elif op == "Squeeze":
            axes = attrs.get("axes", ins[1].tolist() if len(ins) > 1 and ins[1] is not None else None)
            out = np.squeeze(x, axis=tuple(axes) if axes is not None else None)
        elif op == "Transpose":
            out = np.transpose(x, attrs.get("perm"))
        elif op == "Concat":
            out = np.concatenate(ins, axis=attrs["axis"])
        elif op == "Reshape":
            out = np.reshape(x, [d if d != 0 else x.shape[i] for i, d in enumerate(ins[1].tolist())])
        elif op == "Slice":
            if "starts" in attrs:  # opset < 10
                starts, ends, axes, steps = attrs["starts"], attrs["ends"], attrs.get("axes"), None
            else:
                starts, ends = ins[1].tolist(), ins[2].tolist()
                axes = ins[3].tolist() if len(ins) > 3 and ins[3] is not None else None
                steps = ins[4].tolist() if len(ins) > 4 and ins[4] is not None else None
            axes = axes if axes is not None else list(range(len(starts)))
            index = [slice(None)] * x.ndim
            for k, axis in enumerate(axes):
                index[axis] = slice(starts[k], ends[k], steps[k] if steps else 1)
            out = x[tuple(index)]
        else:
            continue
        values[node.output[0]] = np.asarray(out)


def read_model(path: str, vocab_path: str | None = None) -> dict:
    """The weights (float32, IR layout: gates i, f, g, o), vocabulary and tokenizer rules of an ONNX LM."""
    import onnx
    from onnx import numpy_helper

    try:
        m = onnx.load(path)
    except Exception as e:  # noqa: BLE001 - onnx raises several kinds
        raise FinetuneError(f"cannot read {path} as ONNX: {e}") from e
    g = m.graph
    values = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    for node in g.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    values[node.output[0]] = numpy_helper.to_array(a.t)
    fold_constants(g, values)
    meta = {p.key: p.value for p in m.metadata_props}
    if PARTS_KEY in meta:
        raise FinetuneError(f"{path} already carries trained parts: start from the original model")

    gathers = [n for n in g.node if n.op_type == "Gather" and n.input[0] in values]
    if len(gathers) != 1:
        raise FinetuneError(f"{path}: expected one embedding Gather on a weight, found {len(gathers)}")
    emb_name = gathers[0].input[0]
    embedding = values[emb_name].astype(np.float32)
    layers = []
    for node in [n for n in g.node if n.op_type == "LSTM"]:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        # (layout 1, batch-major, changes the data's axes, not the weights: any layout re-trains the same)
        for key, ok in [("direction", lambda v: v in (b"forward", "forward")), ("input_forget", lambda v: v == 0)]:
            if key in attrs and not ok(attrs[key]):
                raise FinetuneError(f"{path}: LSTM node {node.name!r} has {key}={attrs[key]!r}, which finetune "
                                    "does not re-train (forward, no coupled gates only)")
        for key in ("clip", "activations"):
            if key in attrs:
                raise FinetuneError(f"{path}: LSTM node {node.name!r} sets {key}, which finetune does not re-train")
        if len(node.input) > 7 and node.input[7]:
            raise FinetuneError(f"{path}: LSTM node {node.name!r} has peepholes, which finetune does not re-train")
        w, r = values[node.input[1]][0], values[node.input[2]][0]
        hidden = r.shape[1]
        b = values[node.input[3]][0] if len(node.input) > 3 and node.input[3] else np.zeros(8 * hidden, np.float32)
        layers.append(dict(w_ih=_gates(w, hidden).astype(np.float32), w_hh=_gates(r, hidden).astype(np.float32),
                           b_ih=_gates(b[:4 * hidden], hidden).astype(np.float32),
                           b_hh=_gates(b[4 * hidden:], hidden).astype(np.float32)))
    if not layers:
        raise FinetuneError(f"{path}: no LSTM node")
    vocab_size = embedding.shape[0]
    decoder = bias = None
    tied = False
    matmul_out = None
    for node in g.node:
        if node.op_type == "MatMul" and node.input[1] in values and values[node.input[1]].ndim == 2:
            wt = values[node.input[1]]
            if wt.shape[1] == vocab_size:
                decoder, tied = wt.T.astype(np.float32), node.input[1] == emb_name
                matmul_out = node.output[0]
        elif node.op_type == "Gemm" and node.input[1] in values:
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            if attrs.get("transA", 0):
                raise FinetuneError(f"{path}: Gemm node {node.name!r} has transA=1")
            wt = values[node.input[1]]
            wt = wt if attrs.get("transB", 0) else wt.T
            if wt.shape[0] == vocab_size:
                alpha, beta = attrs.get("alpha", 1.0), attrs.get("beta", 1.0)
                decoder, tied = (alpha * wt).astype(np.float32), node.input[1] == emb_name
                if len(node.input) > 2 and node.input[2] in values:
                    c = values[node.input[2]].astype(np.float32).reshape(-1)
                    bias = (beta * (np.full(vocab_size, c[0], np.float32) if c.size == 1 else c)).astype(np.float32)
        elif node.op_type == "Add" and bias is None and matmul_out in node.input:
            # the decoder's bias: [V], [1, V] or a scalar added to the MatMul's output
            other = [n for n in node.input if n != matmul_out]
            if other and other[0] in values and values[other[0]].size in (1, vocab_size):
                c = values[other[0]].astype(np.float32).reshape(-1)
                bias = np.full(vocab_size, c[0], np.float32) if c.size == 1 else c
    if decoder is None:
        raise FinetuneError(f"{path}: no decoder (a MatMul or Gemm onto {vocab_size} logits) found")
    if bias is None:
        bias = np.zeros(vocab_size, np.float32)
    hiddens = {lay["w_hh"].shape[1] for lay in layers}
    if len(hiddens) != 1:
        raise FinetuneError(f"{path}: layers of different hidden sizes {sorted(hiddens)} are not re-trained")

    if vocab_path:
        with open(vocab_path, encoding="utf-8") as f:
            vocab = f.read().split("\n")
        if vocab and vocab[-1] == "":
            vocab.pop()
    elif "vocab" in meta:
        vocab = meta["vocab"].split("\n")
    else:
        raise FinetuneError(f"{path} has no vocabulary (metadata_props \"vocab\"): pass --vocab FILE")
    if len(vocab) != vocab_size:
        raise FinetuneError(f"the vocabulary has {len(vocab)} tokens, the embedding {vocab_size} rows")
    rules = json.loads(meta["tokenizer"]) if "tokenizer" in meta else {"lowercase": False, "eosPerLine": True}
    keep_meta = {k: v for k, v in meta.items() if k not in ("vocab", "tokenizer", "valid_perplexity", "test_perplexity")}
    return dict(embedding=embedding, layers=layers, decoder=decoder, decoder_bias=bias, vocab=vocab,
                tokenizer=rules, tied=tied, meta=keep_meta)


def tensor_names(model: dict) -> list[str]:
    """The weight matrices in the compiler's file order and names."""
    names = ["embedding"]
    for k in range(len(model["layers"])):
        names += [f"layers.{k}.w_ih", f"layers.{k}.w_hh"]
    return names + ["decoder"]


def tensor_matrix(model: dict, name: str) -> np.ndarray:
    if name in ("embedding", "decoder"):
        return model[name]
    _, k, which = name.split(".")
    return model["layers"][int(k)][which]


# ---------------------------------------------------------------------------------------------------------
# Text (runtime/tokenizer.ts's rules)

NUMBER = re.compile(r"^[+-]?\d[\d,.]*$")


def encode_text(path: str, vocab: list[str], rules: dict) -> torch.Tensor:
    index = {w: i for i, w in enumerate(vocab)}
    unk = index.get("<unk>", -1)
    eos = index.get("<eos>", -1)
    ids = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            for word in line.split():
                w = word
                if w not in index:
                    if rules.get("lowercase"):
                        w = w.lower()
                    if rules.get("numberToken") is not None and NUMBER.match(w):
                        w = rules["numberToken"]
                i = index.get(w, unk)
                if i < 0:
                    raise FinetuneError(f"{path}: word {word!r} is not in the vocabulary, which has no <unk>")
                ids.append(i)
            if rules.get("eosPerLine", True) and eos >= 0:
                ids.append(eos)
    if len(ids) < 2:
        raise FinetuneError(f"{path} holds fewer than 2 tokens")
    return torch.tensor(ids, dtype=torch.int64)


# ---------------------------------------------------------------------------------------------------------
# Recipes (compiler/recipe.ts's grammar)

_NUM = r"(\d+(\.\d*)?|\.\d+)"
_WHOLE = r"[1-9]\d*"


def parse_storage(text: str, method: str) -> dict:
    if text.endswith(":s16"):
        raise FinetuneError(f'Invalid method "{method}": float16 scales (:s16) are not re-trained yet; '
                            "re-train with float32 scales")
    m = re.fullmatch(r"(f32|f16|int8|int4)(?::g(.*))?", text)
    if not m:
        raise FinetuneError(f'Invalid method "{method}": unknown storage "{text}" (expected f32, f16, int8[:gN] '
                            "or int4[:gN])")
    if m.group(2) is None:
        return {"type": m.group(1)}
    if m.group(1) in ("f32", "f16") or not re.fullmatch(_WHOLE, m.group(2)):
        raise FinetuneError(f'Invalid method "{method}": bad group size in "{text}"')
    return {"type": m.group(1), "groupSize": int(m.group(2))}


def parse_method(text: str) -> dict:
    head, plus, tail = text.partition("+")
    storage = parse_storage(tail, text) if plus else {"type": "f32"}
    kind, colon, arg = head.partition(":")
    if kind in ("f32", "f16", "int8", "int4"):
        if plus:
            raise FinetuneError(f'Invalid method "{text}": a storage type takes no "+storage"')
        return {"kind": "store", "storage": parse_storage(head, text)}
    if not colon:
        raise FinetuneError(f'Invalid method "{text}": {kind} needs an argument')
    block = re.fullmatch(_NUM + r":b(\d+)x(\d+)", arg)
    if kind == "prune" and block:
        sparsity = float(arg.split(":")[0])
        rows, cols = int(block.group(3)), int(block.group(4))
        if sparsity > 1 or rows not in BLOCK_ROWS or cols not in BLOCK_COLS:
            raise FinetuneError(f'Invalid method "{text}": block pruning takes a sparsity in [0, 1] and blocks '
                                "of 1 or 4 rows x 4, 8 or 16 columns")
        g = storage.get("groupSize")
        if storage["type"] not in ("f32", "int8") or (g is not None and g % (rows * cols)):
            raise FinetuneError(f'Invalid method "{text}": block-pruned values are f32 or int8 with a group size '
                                f"that is a multiple of the block size {rows * cols}")
        return {"kind": "prune", "sparsity": sparsity, "blockRows": rows, "blockCols": cols, "storage": storage}
    if kind == "prune" and re.fullmatch(_NUM, arg) and float(arg) <= 1:
        return {"kind": "prune", "sparsity": float(arg), "storage": storage}
    if kind == "lowrank" and re.fullmatch(_WHOLE, arg):
        return {"kind": "lowrank", "rank": int(arg), "storage": storage}
    if kind == "lowrank" and arg.startswith("e") and re.fullmatch(_NUM, arg[1:]) and 0 < float(arg[1:]) <= 1:
        return {"kind": "lowrank", "energy": float(arg[1:]), "storage": storage}
    if kind == "tt" and re.fullmatch(_WHOLE, arg):
        return {"kind": "tt", "maxRank": int(arg), "storage": storage}
    if kind == "tt" and arg.startswith("t") and re.fullmatch(_NUM, arg[1:]) and float(arg[1:]) < 1:
        return {"kind": "tt", "tolerance": float(arg[1:]), "storage": storage}
    raise FinetuneError(f'Invalid method "{text}": expected f32 | f16 | int8[:gN] | int4[:gN] | prune:S | '
                        "lowrank:R | lowrank:eE | tt:R | tt:tT, the last five optionally +STORAGE")


def plan_recipe(recipe: dict, names: list[str]) -> list[dict]:
    """Each tensor's rule (first match wins; f32 where none matches); a pattern matching nothing is an error."""
    rules = recipe.get("rules") if isinstance(recipe, dict) else None
    if not isinstance(rules, list) or not rules:
        raise FinetuneError('a recipe is {"rules": [{"tensors": PATTERN, "method": METHOD}, …]}')
    allowed = {"tensors", "method", "scope", "rowModes", "colModes", "description"}
    patterns = []
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict) or not isinstance(rule.get("tensors"), str) or not isinstance(
                rule.get("method"), str):
            raise FinetuneError(f"recipe rule {i + 1}: needs \"tensors\" and \"method\" strings")
        extra = set(rule) - allowed
        if extra:
            raise FinetuneError(f"recipe rule {i + 1}: unknown field(s) {sorted(extra)}")
        spec = parse_method(rule["method"])
        if rule.get("scope", "tensor") not in ("tensor", "global") or (rule.get("scope") and spec["kind"] != "prune"):
            raise FinetuneError(f"recipe rule {i + 1}: \"scope\" is \"tensor\" or \"global\", for prune only")
        regex = re.compile("^" + ".*".join(re.escape(p) for p in rule["tensors"].split("*")) + "$")
        if not any(regex.match(n) for n in names):
            raise FinetuneError(f"recipe rule {i + 1}: pattern {rule['tensors']!r} matches no tensor "
                                f"(tensors: {', '.join(names)})")
        patterns.append((regex, spec, rule))
    plan = []
    for n in names:
        hit = next(((i, spec, rule) for i, (rx, spec, rule) in enumerate(patterns) if rx.match(n)), None)
        if hit is None:
            plan.append(dict(name=n, rule=-1, method="f32", spec={"kind": "store", "storage": {"type": "f32"}}))
        else:
            i, spec, rule = hit
            spec = dict(spec, scope=rule.get("scope", "tensor"), rowModes=rule.get("rowModes"),
                        colModes=rule.get("colModes"))
            plan.append(dict(name=n, rule=i, method=rule["method"], spec=spec))
    return plan


# ---------------------------------------------------------------------------------------------------------
# The compiler's quantizer (compiler/methods/storage.ts) and fake quantization


def group_size(storage: dict, cols: int) -> int:
    if storage["type"] == "int8":
        return storage.get("groupSize") or max(1, cols)
    if storage["type"] == "int4":
        return storage.get("groupSize") or INT4_DEFAULT_GROUP
    return 0


def quantize_codes(w: torch.Tensor, bits: int, group: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(codes (rows, cols) int64 in [-qmax, qmax], scales (rows, ceil(cols/group)) float32), as the compiler
    computes them: scale = fround(max|x| / qmax), q = round(|x| / scale) (halves up) with x's sign."""
    qmax = 127 if bits == 8 else 7
    rows, cols = w.shape
    gpr = -(-cols // group)
    padded = F.pad(w.detach().abs().double(), (0, gpr * group - cols)).view(rows, gpr, group)
    scales = (padded.amax(-1) / qmax).float()
    s = scales.double().repeat_interleave(group, 1)[:, :cols]
    q = torch.where(s == 0, torch.zeros_like(s), torch.floor(w.detach().abs().double() / torch.where(s == 0, torch.ones_like(s), s) + 0.5))
    q = q.clamp(max=qmax) * torch.sign(w.detach().double())
    return q.long(), scales


def dequantize(codes: torch.Tensor, scales: torch.Tensor, group: int) -> torch.Tensor:
    cols = codes.shape[1]
    return (codes.float() * scales.repeat_interleave(group, 1)[:, :cols]).float()


def stored_value(w: torch.Tensor, storage: dict) -> torch.Tensor:
    """What the file will hold for w, as float32 (the runtime computes with exactly these values)."""
    t = storage["type"]
    if t == "f32":
        return w
    if t == "f16":
        return w.half().float()
    g = group_size(storage, w.shape[1])
    codes, scales = quantize_codes(w, 8 if t == "int8" else 4, g)
    return dequantize(codes, scales.to(w.device), g).to(w.device)


def fake_quant(w: torch.Tensor, storage: dict) -> torch.Tensor:
    """Forward: the stored value; backward: the identity (straight-through estimator)."""
    if storage["type"] == "f32":
        return w
    return w + (stored_value(w, storage) - w).detach()


def csr_value_storage(storage: dict) -> dict:
    if storage["type"] == "int8" and "groupSize" not in storage:
        return dict(storage, groupSize=CSR_INT8_DEFAULT_GROUP)
    return storage


def block_value_storage(storage: dict, size: int) -> dict:
    """int8 block values: groups of 512 values unless the method gives a size (prune_blocks.ts)."""
    if storage["type"] == "int8" and "groupSize" not in storage:
        return dict(storage, groupSize=-(-BLOCK_INT8_DEFAULT_GROUP // size) * size)
    return storage


# ---------------------------------------------------------------------------------------------------------
# Decompositions (compiler/methods/lowrank.ts, tt.ts)


def lowrank_factors(w: np.ndarray, spec: dict) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = w.shape
    u, s, vt = np.linalg.svd(w.astype(np.float64), full_matrices=False)
    full = min(rows, cols)
    cap = min(spec.get("rank") or full, full)
    r = full
    if spec.get("energy") is not None and spec["energy"] < 1:
        s2 = s * s
        total = s2.sum()
        r = int(np.searchsorted(np.cumsum(s2), spec["energy"] * total) + 1) if total > 0 else 1
    r = max(1, min(cap, r))
    if rows >= cols:  # B = V_r^T orthonormal rows, A = W V_r
        b = vt[:r]
        a = w.astype(np.float64) @ b.T
    else:  # A = U_r orthonormal columns, B = U_r^T W
        a = u[:, :r]
        b = a.T @ w.astype(np.float64)
    return a.astype(np.float32), b.astype(np.float32)


def balanced_factors(n: int, d: int) -> list[int]:
    best = None

    def walk(rest, k, low, acc):
        nonlocal best
        if k == 1:
            f = acc + [rest]
            if rest >= low and (best is None or f[::-1] < best[::-1]):
                best = f
            return
        f = low
        while f ** k <= rest:
            if rest % f == 0:
                walk(rest // f, k - 1, f, acc + [f])
            f += 1

    walk(n, d, 1, [])
    return best


def choose_modes(n: int, d: int = TT_DEFAULT_CORES) -> list[int]:
    cap = math.ceil(n ** (1 / d) - 1e-9) ** d
    for size in range(n, cap):
        f = balanced_factors(size, d)
        if f[-1] <= 1.5 * size ** (1 / d):
            return f
    return balanced_factors(cap, d)


def fast_modes(n: int, side: str, d: int = TT_DEFAULT_CORES) -> list[int]:
    """The fast split of one side (compiler/methods/tt.ts fastModes): with 3 cores and n >= 16, rows
    [ceil(n/4), 2, 2] and columns [2, 2, ceil(n/4)]; else the balanced one."""
    if d != 3 or n < 16:
        return choose_modes(n, d)
    big = -(-n // 4)
    return [big, 2, 2] if side == "rows" else [2, 2, big]


def tt_cores(w: np.ndarray, spec: dict) -> tuple[list[int], list[int], list[int], list[np.ndarray]]:
    """TT-SVD as the compiler's (compiler/methods/tt.ts tensorTrainCores): without modes in the spec, the
    fast and the balanced split are both decomposed and the smaller relative error wins (fast on a tie;
    with a tolerance and no rank cap, fewer parameters)."""
    rows, cols = w.shape
    if not spec.get("rowModes") and not spec.get("colModes"):
        fast = tt_svd(w, spec, fast_modes(rows, "rows"), fast_modes(cols, "cols"))
        balanced_modes = (choose_modes(rows), choose_modes(cols))
        if (fast[0], fast[1]) == balanced_modes:
            return fast[:4]
        balanced = tt_svd(w, spec, *balanced_modes)
        if not spec.get("maxRank") and spec.get("tolerance") is not None:
            size = lambda tt: sum(c.size for c in tt[3])
            return (fast if size(fast) <= size(balanced) else balanced)[:4]
        return (fast if fast[4] <= balanced[4] else balanced)[:4]
    d = len(spec.get("rowModes") or spec.get("colModes"))
    return tt_svd(w, spec, spec.get("rowModes") or choose_modes(rows, d), spec.get("colModes") or choose_modes(cols, d))[:4]


def tt_svd(w: np.ndarray, spec: dict, row_modes: list[int], col_modes: list[int]):
    """TT-SVD of w with the given modes: (row_modes, col_modes, ranks, cores, relative error)."""
    rows, cols = w.shape
    d = len(row_modes)
    m_tot, n_tot = int(np.prod(row_modes)), int(np.prod(col_modes))
    full = np.zeros((m_tot, n_tot), np.float64)
    full[:rows, :cols] = w
    # (i_0..i_{d-1}, j_0..j_{d-1}) -> (i_0, j_0, i_1, j_1, ...): s_k = i_k n_k + j_k, s_0 most significant
    t = full.reshape(row_modes + col_modes).transpose([x for k in range(d) for x in (k, d + k)])
    sizes = [row_modes[k] * col_modes[k] for k in range(d)]
    norm2 = float((w.astype(np.float64) ** 2).sum())
    tail = None if spec.get("tolerance") is None or d == 1 else spec["tolerance"] ** 2 * norm2 / (d - 1)
    ranks, cores = [1], []
    rest = t.reshape(-1)
    dropped = 0.0
    for k in range(d - 1):
        c = rest.reshape(ranks[k] * sizes[k], -1)
        u, s, vt = np.linalg.svd(c, full_matrices=False)
        s2 = s * s
        r = len(s2)
        if tail is not None:
            acc = 0.0
            while r > 1 and acc + s2[r - 1] <= tail:
                r -= 1
                acc += s2[r]
        if spec.get("maxRank"):
            r = min(r, spec["maxRank"])
        r = max(1, min(r, len(s2)))
        cores.append(u[:, :r].reshape(ranks[k], -1).astype(np.float32))
        ranks.append(r)
        dropped += float(s2[r:].sum())
        rest = (s[:r, None] * vt[:r]).reshape(-1)
    cores.append(rest.reshape(ranks[-1], -1).astype(np.float32))
    ranks.append(1)
    return row_modes, col_modes, ranks, cores, (dropped / norm2) ** 0.5 if norm2 > 0 else 0.0


def tt_dense(cores: list[torch.Tensor], row_modes, col_modes, ranks, rows: int, cols: int) -> torch.Tensor:
    """W (rows, cols) from TT cores (core k: R_k x (m_k n_k R_{k+1}), element [a, (i n_k + j) R_{k+1} + b])."""
    d = len(cores)
    out = cores[0].reshape(row_modes[0] * col_modes[0], ranks[1])  # (s_0, R_1)
    for k in range(1, d):
        out = out @ cores[k].reshape(ranks[k], -1)  # (s_0..s_{k-1}, s_k R_{k+1})
        out = out.reshape(-1, ranks[k + 1])
    shape = [x for k in range(d) for x in (row_modes[k], col_modes[k])]
    perm = [2 * k for k in range(d)] + [2 * k + 1 for k in range(d)]
    full = out.reshape(shape).permute(perm).reshape(int(np.prod(row_modes)), int(np.prod(col_modes)))
    return full[:rows, :cols]


# ---------------------------------------------------------------------------------------------------------
# Parametrizations: each gives the weight the file will hold (forward) and its parts (export)


class Compressed(nn.Module):
    """One weight matrix as its method parametrizes it."""

    def __init__(self, name: str, method: str, spec: dict, w: np.ndarray):
        super().__init__()
        self.name, self.method, self.spec = name, method, spec
        self.rows, self.cols = w.shape
        self.storage = spec["storage"]
        kind = spec["kind"]
        if kind in ("store", "prune"):
            self.w = nn.Parameter(torch.from_numpy(w.copy()))
            self.register_buffer("mask", torch.ones_like(self.w, dtype=torch.bool))
            # Block pruning (prune:S:bRxC): the mask is kept per block of br x bc (padded at the edges).
            self.block = (spec["blockRows"], spec["blockCols"]) if "blockCols" in spec else None
            if self.block:
                br, bc = self.block
                self.grid = (-(-self.rows // br), -(-self.cols // bc))
                self.register_buffer("block_mask", torch.ones(self.grid, dtype=torch.bool))
        elif kind == "lowrank":
            a, b = lowrank_factors(w, spec)
            self.a, self.b = nn.Parameter(torch.from_numpy(a)), nn.Parameter(torch.from_numpy(b))
        elif kind == "tt":
            self.row_modes, self.col_modes, self.ranks, cores = tt_cores(w, spec)
            self.cores = nn.ParameterList([nn.Parameter(torch.from_numpy(c)) for c in cores])
        self.kind = kind

    def weight(self) -> torch.Tensor:
        if self.kind == "store":
            return fake_quant(self.w, self.storage)
        if self.kind == "lowrank":
            return fake_quant(self.a, self.storage) @ fake_quant(self.b, self.storage)
        if self.kind == "tt":
            cores = [fake_quant(c, self.storage) for c in self.cores]
            return tt_dense(cores, self.row_modes, self.col_modes, self.ranks, self.rows, self.cols)
        if self.block:
            return self._block_weight()
        # prune: the kept values in row order are the CSR values, a 1 x nnz vector with its own groups
        flat_mask = self.mask.reshape(-1)
        idx = flat_mask.nonzero().squeeze(1)
        values = self.w.reshape(-1)[idx].unsqueeze(0)
        kept = fake_quant(values, csr_value_storage(self.storage)).squeeze(0)
        return torch.zeros(self.rows * self.cols, dtype=self.w.dtype, device=self.w.device).index_put(
            (idx,), kept).reshape(self.rows, self.cols)

    def _blocks(self, x: torch.Tensor) -> torch.Tensor:
        """x (rows, cols), zero-padded to whole blocks, as (block rows, block cols, br, bc)."""
        br, bc = self.block
        (gr, gc) = self.grid
        padded = F.pad(x, (0, gc * bc - self.cols, 0, gr * br - self.rows))
        return padded.reshape(gr, br, gc, bc).permute(0, 2, 1, 3)

    def _block_weight(self) -> torch.Tensor:
        """The kept blocks' values in the file's order (block by block, each row by row, padding 0) are
        SparseBlocks' 1 x n·br·bc values with their own groups; dropped blocks are 0."""
        br, bc = self.block
        (gr, gc) = self.grid
        blocks = self._blocks(self.w)
        kept = blocks[self.block_mask]  # (n, br, bc), block order
        values = fake_quant(kept.reshape(1, -1), block_value_storage(self.storage, br * bc)).reshape(kept.shape)
        out = torch.zeros_like(blocks).index_put((self.block_mask,), values)
        return out.permute(0, 2, 1, 3).reshape(gr * br, gc * bc)[: self.rows, : self.cols]

    def prune_scores(self) -> torch.Tensor:
        """What pruning ranks, flat: |w| of every entry, or the L2 norm of every block."""
        with torch.no_grad():
            if self.block:
                return self._blocks(self.w.detach()).pow(2).sum((2, 3)).sqrt().reshape(-1)
            return self.w.detach().abs().reshape(-1)

    def prune_to(self, sparsity: float, threshold: float | None = None) -> None:
        """Per tensor: all but the round(s n) smallest scores (entries |w|, or block norms; ties: lower index
        pruned first); global: score >= t."""
        with torch.no_grad():
            mags = self.prune_scores()
            if threshold is not None:
                keep = mags >= threshold
            else:
                count = round(sparsity * mags.numel())
                keep = torch.ones_like(mags, dtype=torch.bool)
                if count > 0:
                    order = torch.sort(mags.cpu(), stable=True).indices[:count]
                    keep[order.to(keep.device)] = False
            if self.block:
                br, bc = self.block
                self.block_mask.copy_(keep.reshape(self.grid))
                full = keep.reshape(self.grid).repeat_interleave(br, 0).repeat_interleave(bc, 1)
                self.mask.copy_(full[: self.rows, : self.cols])
            else:
                self.mask.copy_(keep.reshape(self.mask.shape))

    def export(self, add) -> dict:
        """The parts as metadata (JSON) and initializers (`add(name, array)` stores one)."""
        base = f"lstm_edge/{self.name}"
        entry = {"method": self.method, "rows": self.rows, "cols": self.cols}
        with torch.no_grad():
            if self.kind == "store":
                entry.update(encoding="store", matrix=export_leaf(self.w, self.storage, f"{base}/matrix", add))
            elif self.kind == "lowrank":
                entry.update(encoding="lowrank", a=export_leaf(self.a, self.storage, f"{base}/a", add),
                             b=export_leaf(self.b, self.storage, f"{base}/b", add))
            elif self.kind == "tt":
                entry.update(encoding="tt", rowModes=self.row_modes, colModes=self.col_modes, ranks=self.ranks,
                             cores=[export_leaf(c, self.storage, f"{base}/cores.{k}", add)
                                    for k, c in enumerate(self.cores)])
            elif self.block:
                br, bc = self.block
                bm = self.block_mask.cpu()
                row_ptr = np.concatenate([[0], np.cumsum(bm.sum(1).numpy())]).astype(np.int32)
                block_idx = bm.nonzero()[:, 1].numpy().astype(np.int32)
                values = self._blocks(self.w.detach().cpu())[bm].reshape(1, -1)
                entry.update(encoding="blocks", blockRows=br, blockCols=bc, rowPtr=add(f"{base}/row_ptr", row_ptr),
                             blockIdx=add(f"{base}/block_idx", block_idx),
                             values=export_leaf(values, block_value_storage(self.storage, br * bc),
                                                f"{base}/values", add))
            else:
                mask = self.mask.cpu()
                row_ptr = np.concatenate([[0], np.cumsum(mask.sum(1).numpy())]).astype(np.int32)
                col_idx = mask.nonzero()[:, 1].numpy().astype(np.int32)
                values = self.w.detach().cpu().reshape(-1)[mask.reshape(-1).nonzero().squeeze(1)].unsqueeze(0)
                entry.update(encoding="csr", rowPtr=add(f"{base}/row_ptr", row_ptr),
                             colIdx=add(f"{base}/col_idx", col_idx),
                             values=export_leaf(values, csr_value_storage(self.storage), f"{base}/values", add))
        return entry


def export_leaf(w: torch.Tensor, storage: dict, base: str, add) -> dict:
    """A stored matrix: f32 values, f16 values, or int8/int4 codes + float32 scales (compiler's layout)."""
    w = w.detach().cpu().float()
    t = storage["type"]
    leaf = {"storage": t, "rows": int(w.shape[0]), "cols": int(w.shape[1])}
    if t in ("f32", "f16"):
        leaf["values"] = add(f"{base}/values", w.numpy() if t == "f32" else w.half().numpy())
        return leaf
    g = group_size(storage, w.shape[1])
    codes, scales = quantize_codes(w, 8 if t == "int8" else 4, g)
    leaf.update(groupSize=g, codes=add(f"{base}/codes", codes.numpy().astype(np.int8)),
                scales=add(f"{base}/scales", scales.numpy().astype(np.float32)))
    return leaf


class CompressedLM(nn.Module):
    """The language model with every weight matrix parametrized; biases trained as they are."""

    def __init__(self, model: dict, plan: list[dict]):
        super().__init__()
        self.mats = nn.ModuleDict({p["name"].replace(".", "_"): Compressed(p["name"], p["method"], p["spec"],
                                                                         tensor_matrix(model, p["name"]))
                                   for p in plan})
        self.plan = plan
        layers = model["layers"]
        self.num_layers, self.hidden = len(layers), layers[0]["w_hh"].shape[1]
        self.embed = model["embedding"].shape[1]
        self.biases = nn.ParameterDict()
        for k, lay in enumerate(layers):
            self.biases[f"b_ih_{k}"] = nn.Parameter(torch.from_numpy(lay["b_ih"].copy()))
            self.biases[f"b_hh_{k}"] = nn.Parameter(torch.from_numpy(lay["b_hh"].copy()))
        self.decoder_bias = nn.Parameter(torch.from_numpy(model["decoder_bias"].copy()))

    def mat(self, name: str) -> Compressed:
        return self.mats[name.replace(".", "_")]

    def weights(self) -> dict:
        return {p["name"]: self.mat(p["name"]).weight() for p in self.plan}

    def forward(self, tokens, h0, c0, weights: dict | None = None):
        w = weights or self.weights()
        x = F.embedding(tokens, w["embedding"])
        flat = []
        for k in range(self.num_layers):
            flat += [w[f"layers.{k}.w_ih"], w[f"layers.{k}.w_hh"], self.biases[f"b_ih_{k}"], self.biases[f"b_hh_{k}"]]
        # nn.LSTM's own kernel with these weights (what nn.LSTM.forward calls; functional_call does not
        # reach an RNN's flattened weights in torch 1.13): sequence-major, unidirectional, no dropout.
        y, h, c = torch._VF.lstm(x, (h0, c0), flat, True, self.num_layers, 0.0, self.training, False, False)
        return F.linear(y, w["decoder"], self.decoder_bias), h, c

    def dense_model(self) -> LstmLanguageModel:
        """A plain PyTorch model with the weights the file holds (for ONNX export and the reference logits)."""
        with torch.no_grad():
            w = {k: v.detach().cpu() for k, v in self.weights().items()}
            m = LstmLanguageModel(w["decoder"].shape[0], self.hidden, self.num_layers, 0.0, embed=self.embed)
            m.embedding.weight.copy_(w["embedding"])
            for k in range(self.num_layers):
                getattr(m.lstm, f"weight_ih_l{k}").copy_(w[f"layers.{k}.w_ih"])
                getattr(m.lstm, f"weight_hh_l{k}").copy_(w[f"layers.{k}.w_hh"])
                getattr(m.lstm, f"bias_ih_l{k}").copy_(self.biases[f"b_ih_{k}"].cpu())
                getattr(m.lstm, f"bias_hh_l{k}").copy_(self.biases[f"b_hh_{k}"].cpu())
            m.decoder.weight.copy_(w["decoder"])
            m.decoder.bias.copy_(self.decoder_bias.cpu())
        return m.eval()


def teacher_model(model: dict) -> LstmLanguageModel:
    layers = model["layers"]
    t = LstmLanguageModel(model["embedding"].shape[0], layers[0]["w_hh"].shape[1], len(layers), 0.0,
                          embed=model["embedding"].shape[1])
    with torch.no_grad():
        t.embedding.weight.copy_(torch.from_numpy(model["embedding"]))
        for k, lay in enumerate(layers):
            for name, key in (("weight_ih", "w_ih"), ("weight_hh", "w_hh"), ("bias_ih", "b_ih"), ("bias_hh", "b_hh")):
                getattr(t.lstm, f"{name}_l{k}").copy_(torch.from_numpy(lay[key]))
        t.decoder.weight.copy_(torch.from_numpy(model["decoder"]))
        t.decoder.bias.copy_(torch.from_numpy(model["decoder_bias"]))
    return t.eval()


# ---------------------------------------------------------------------------------------------------------
# Perplexity (the project's convention)


def stream_perplexity(forward, layers: int, hidden: int, ids: torch.Tensor, device, chunk: int = 2000) -> float:
    h = torch.zeros(layers, 1, hidden, device=device)
    c = torch.zeros(layers, 1, hidden, device=device)
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, ids.numel() - 1, chunk):
            tgt = ids[start + 1: start + 1 + chunk].to(device)
            inp = ids[start: start + tgt.numel()].to(device)
            logits, h, c = forward(inp.view(-1, 1), h, c)
            total += F.cross_entropy(logits.view(-1, logits.size(-1)).double(), tgt, reduction="sum").item()
            count += tgt.numel()
    return math.exp(total / count)


# ---------------------------------------------------------------------------------------------------------
# Export


def write_output(lm: CompressedLM, model: dict, recipe: dict, args, meta: dict) -> None:
    import onnx
    from onnx import numpy_helper

    dense = lm.dense_model()
    tmp = args.out + ".dense.tmp"
    rules = dict(model["tokenizer"])
    export_onnx(dense, model["vocab"], tmp, args.opset, {**model["meta"], **meta, "tokenizer": json.dumps(rules)})
    m = onnx.load(tmp)
    os.remove(tmp)
    parts = {"format": PARTS_FORMAT, "recipe": recipe, "tensors": {}}
    used = set()

    def add(name: str, array: np.ndarray) -> str:
        if name in used:
            raise AssertionError(name)
        used.add(name)
        m.graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    for p in lm.plan:
        parts["tensors"][p["name"]] = lm.mat(p["name"]).export(add)
    entry = m.metadata_props.add()
    entry.key, entry.value = PARTS_KEY, json.dumps(parts, separators=(",", ":"))
    tmp = args.out + ".tmp"
    onnx.save(m, tmp)
    os.replace(tmp, args.out)


# ---------------------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="trained model: an ONNX file that `deno task compile` reads")
    p.add_argument("--vocab", help="vocabulary, one token per line, replacing the model's metadata_props \"vocab\"")
    p.add_argument("--recipe", required=True, help="recipe JSON in the compiler's grammar (compiler/recipe.ts)")
    p.add_argument("--train", required=True, help="training text (PTB format: whitespace tokens, <eos> per line)")
    p.add_argument("--valid", required=True, help="validation text: perplexity per epoch, early stopping")
    p.add_argument("--test", help="test text: its perplexity goes into the reference JSON")
    p.add_argument("--out", required=True, help="ONNX file to write (reference JSON and log go beside it)")
    p.add_argument("--epochs", type=int, default=3, help="epochs of re-training (default 3)")
    p.add_argument("--max-batches", type=int, help="stop each epoch after this many batches (smoke tests)")
    p.add_argument("--batch", type=int, default=20, help="sequences per batch (default 20)")
    p.add_argument("--steps", type=int, default=20, help="unrolled steps per batch (default 20)")
    p.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd", help="default sgd")
    p.add_argument("--lr", type=float, help="learning rate (default 0.05 for sgd, 0.001 for adam)")
    p.add_argument("--decay", type=float, default=0.5, help="lr factor per epoch after the first (default 0.5)")
    p.add_argument("--clip", type=float, default=5.0, help="gradient-norm clip (default 5)")
    p.add_argument("--distill", type=float, default=1.0,
                   help="weight of the distillation loss (KL divergence to the original model's outputs) against "
                        "the cross-entropy on the text, 0..1 (default 1: distillation only; 0: cross-entropy only)")
    p.add_argument("--temperature", type=float, default=1.0, help="distillation temperature (default 1)")
    p.add_argument("--prune-fraction", type=float, default=0.5,
                   help="fraction of the first epoch over which pruning reaches its sparsity (default 0.5)")
    p.add_argument("--prune-every", type=int, default=50, help="batches between mask updates while pruning (default 50)")
    p.add_argument("--patience", type=int, default=1,
                   help="stop after this many epochs without a better validation perplexity (default 1)")
    p.add_argument("--valid-tokens", type=int, help="score only the first N validation tokens per epoch")
    p.add_argument("--eval-tokens", type=int, help="score only the first N valid/test tokens everywhere (smoke tests)")
    p.add_argument("--checkpoint", help="checkpoint file (default: OUT with .ckpt.pt)")
    p.add_argument("--checkpoint-minutes", type=float, default=10.0, help="checkpoint interval (default 10)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    p.add_argument("--seed", type=int, default=1234, help="random seed (default 1234)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (default: all cores)")
    p.add_argument("--opset", type=int, default=13, help="ONNX opset for the export (default 13)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                   help="torch device (default: cuda when available)")
    args = p.parse_args(argv)
    try:
        return run(args)
    except FinetuneError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def run(args) -> int:
    for path, what in [(args.model, "--model"), (args.recipe, "--recipe"), (args.train, "--train"),
                       (args.valid, "--valid"), *([(args.test, "--test")] if args.test else []),
                       *([(args.vocab, "--vocab")] if args.vocab else [])]:
        if not os.path.isfile(path):
            raise FinetuneError(f"{what} {path} does not exist")
    if not 0 <= args.distill <= 1:
        raise FinetuneError(f"--distill must be in [0, 1], got {args.distill}")
    if os.path.abspath(args.out) == os.path.abspath(args.model):
        raise FinetuneError("--out would overwrite --model")
    stem = args.out[:-5] if args.out.endswith(".onnx") else args.out
    ckpt_path = args.checkpoint or stem + ".ckpt.pt"
    logfile = stem + ".train.log"
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    lr0 = args.lr if args.lr is not None else (0.05 if args.optimizer == "sgd" else 1e-3)

    model = read_model(args.model, args.vocab)
    with open(args.recipe, encoding="utf-8") as f:
        try:
            recipe = json.load(f)
        except json.JSONDecodeError as e:
            raise FinetuneError(f"{args.recipe}: not JSON ({e})") from e
    names = tensor_names(model)
    plan = plan_recipe(recipe, names)
    vocab, rules = model["vocab"], model["tokenizer"]
    train_ids = encode_text(args.train, vocab, rules)
    valid_ids = encode_text(args.valid, vocab, rules)
    test_ids = encode_text(args.test, vocab, rules) if args.test else None
    if args.eval_tokens:
        valid_ids = valid_ids[: args.eval_tokens]
        test_ids = test_ids[: args.eval_tokens] if test_ids is not None else None
    epoch_valid_ids = valid_ids[: args.valid_tokens] if args.valid_tokens else valid_ids

    torch.manual_seed(args.seed)
    lm = CompressedLM(model, plan).to(device)
    teacher = teacher_model(model).to(device) if args.distill > 0 else None
    layers, hidden = lm.num_layers, lm.hidden
    trainable = [q for q in lm.parameters() if q.requires_grad]
    opt = torch.optim.Adam(trainable, lr=lr0) if args.optimizer == "adam" else None
    data = batchify(train_ids, args.batch).to(device)
    batches = (data.size(0) - 1) // args.steps
    if args.max_batches:
        batches = min(batches, args.max_batches)
    pruned = [p for p in plan if p["spec"]["kind"] == "prune"]
    prune_batches = max(1, int(args.prune_fraction * batches))

    def apply_pruning(fraction: float) -> None:
        """Zhu & Gupta: s_t = s_f (1 - (1 - t/T)^3); global rules share one threshold."""
        by_rule = {}
        for p in pruned:
            by_rule.setdefault((p["rule"], p["spec"]["scope"]), []).append(p)
        for (_, scope), group in by_rule.items():
            s = group[0]["spec"]["sparsity"] * (1 - (1 - min(fraction, 1.0)) ** 3)
            if scope == "global":
                mags = torch.cat([lm.mat(p["name"]).prune_scores().cpu() for p in group])
                k = round(s * mags.numel())
                t = 0.0 if k <= 0 else (math.inf if k >= mags.numel() else float(torch.sort(mags).values[k]))
                for p in group:
                    lm.mat(p["name"]).prune_to(s, threshold=t)
            else:
                for p in group:
                    lm.mat(p["name"]).prune_to(s)

    state = dict(epoch=0, batch=0, loss_sum=0.0, loss_tokens=0, hidden=None, history=[], train_seconds=0.0,
                 best=None, best_valid=math.inf, stale=0)
    if args.resume:
        if not os.path.isfile(ckpt_path):
            raise FinetuneError(f"no checkpoint at {ckpt_path} to resume from")
        ck = torch.load(ckpt_path, map_location="cpu")
        if ck["recipe"] != recipe or ck["model_sha256"] != sha256(args.model):
            raise FinetuneError(f"checkpoint {ckpt_path} was made from another model or recipe")
        lm.load_state_dict(ck["lm"])
        if opt is not None and ck.get("opt"):
            opt.load_state_dict(ck["opt"])
        torch.set_rng_state(ck["rng"])
        state = ck["state"]
        log(f"resumed from {ckpt_path} at epoch {state['epoch'] + 1}, batch {state['batch']}", logfile)
    else:
        # The compressed model before re-training (pruned at once to the full sparsity) is a candidate too:
        # re-training must beat it to count. Then pruning starts again from no mask, reached gradually.
        if pruned:
            apply_pruning(1.0)
        before = stream_perplexity(lm, layers, hidden, epoch_valid_ids, device)
        state["history"].append(dict(epoch=0, valid_ppl=before))
        state["best"] = {k: v.detach().cpu().clone() for k, v in lm.state_dict().items()}
        state["best_valid"] = before
        if pruned:
            for p in pruned:
                lm.mat(p["name"]).mask.fill_(True)
                if lm.mat(p["name"]).block:
                    lm.mat(p["name"]).block_mask.fill_(True)
        log(f"start {json.dumps({k: v for k, v in vars(args).items() if v is not None})} "
            f"tensors={[(p['name'], p['method']) for p in plan]} train_tokens={train_ids.numel()} "
            f"batches/epoch={batches} device={device} threads={torch.get_num_threads()} torch={torch.__version__} "
            f"host={platform.node()}", logfile)
        log(f"epoch 0 (compressed, not re-trained) valid ppl {before:.2f}", logfile)

    def checkpoint():
        save_atomic(dict(recipe=recipe, model_sha256=sha256(args.model), lm=lm.state_dict(),
                         opt=opt.state_dict() if opt else None, rng=torch.get_rng_state(), state=state), ckpt_path)

    last_ckpt = time.time()
    while state["epoch"] < args.epochs and state["stale"] < args.patience:
        epoch = state["epoch"]
        lr = lr0 * args.decay ** epoch
        if opt is not None:
            for group in opt.param_groups:
                group["lr"] = lr
        lm.train()
        if state["hidden"] is None:
            h = torch.zeros(layers, args.batch, hidden, device=device)
            c = torch.zeros(layers, args.batch, hidden, device=device)
        else:
            h, c = (t.to(device) for t in state["hidden"])
        th, tc = h.clone(), c.clone()
        t0 = time.time()
        while state["batch"] < batches:
            b = state["batch"]
            if pruned and epoch == 0 and (b % args.prune_every == 0 or b + 1 == prune_batches) and b <= prune_batches:
                apply_pruning((b + 1) / prune_batches)
            i = b * args.steps
            inp, tgt = data[i: i + args.steps], data[i + 1: i + 1 + args.steps]
            h, c = h.detach(), c.detach()
            logits, h, c = lm(inp, h, c)
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), tgt.reshape(-1))
            total = loss
            if teacher is not None:
                with torch.no_grad():
                    tl, th, tc = teacher(inp, th, tc)
                T = args.temperature
                # mean over the tokens, like the cross-entropy; T² keeps the gradient's scale (Hinton et al.)
                kl = F.kl_div(F.log_softmax(logits / T, -1), F.log_softmax(tl / T, -1), log_target=True,
                              reduction="sum") / tgt.numel() * T * T
                total = (1 - args.distill) * loss + args.distill * kl
            lm.zero_grad(set_to_none=True)
            (total * args.steps).backward()  # summed over steps, mean over the batch (Zaremba's cost)
            nn.utils.clip_grad_norm_(trainable, args.clip)
            if opt is not None:
                opt.step()
            else:
                with torch.no_grad():
                    for q in trainable:
                        if q.grad is not None:
                            q.add_(q.grad, alpha=-lr)
            record_batch(state, loss.item(), tgt.numel(), epoch, batches, lr)
            if time.time() - last_ckpt > args.checkpoint_minutes * 60:
                state["hidden"] = (h.detach().cpu(), c.detach().cpu())
                state["train_seconds"] += time.time() - t0
                t0 = time.time()
                checkpoint()
                last_ckpt = time.time()
        if pruned and epoch == 0:
            apply_pruning(1.0)
        state["train_seconds"] += time.time() - t0
        train_ppl = math.exp(state["loss_sum"] / max(state["loss_tokens"], 1))
        lm.eval()
        valid_ppl = stream_perplexity(lm, layers, hidden, epoch_valid_ids, device)
        state["history"].append(dict(epoch=epoch + 1, lr=lr, train_ppl=train_ppl, valid_ppl=valid_ppl))
        better = valid_ppl < state["best_valid"]
        if better:
            state["best_valid"] = valid_ppl
            state["best"] = {k: v.detach().cpu().clone() for k, v in lm.state_dict().items()}
            state["stale"] = 0
        else:
            state["stale"] += 1
        log(f"epoch {epoch + 1}/{args.epochs} lr {lr:g} train ppl {train_ppl:.2f} valid ppl {valid_ppl:.2f}"
            f"{' (best)' if better else ''} train time {state['train_seconds'] / 60:.1f} min", logfile)
        state.update(epoch=epoch + 1, batch=0, loss_sum=0.0, loss_tokens=0, hidden=None)
        checkpoint()
        last_ckpt = time.time()
    if state["stale"] >= args.patience and state["epoch"] < args.epochs:
        log(f"early stop: no better validation perplexity for {state['stale']} epoch(s)", logfile)
    if state["best"] is not None:
        lm.load_state_dict(state["best"])
    lm.eval()

    valid_ppl = stream_perplexity(lm, layers, hidden, valid_ids, device)
    test_ppl = stream_perplexity(lm, layers, hidden, test_ids, device) if test_ids is not None else None
    log(f"final valid ppl {valid_ppl:.3f}" + (f" test ppl {test_ppl:.3f}" if test_ppl is not None else ""), logfile)

    lm.cpu()
    meta = dict(valid_perplexity=round(valid_ppl, 4), finetune_recipe=json.dumps(recipe))
    if test_ppl is not None:
        meta["test_perplexity"] = round(test_ppl, 4)
    write_output(lm, model, recipe, args, meta)
    index = {w: i for i, w in enumerate(vocab)}

    def encode(words):
        return torch.tensor([index.get(w, index.get("<unk>", 0)) for w in words], dtype=torch.int64)

    write_reference(stem, lm.dense_model(), encode, dict(
        model=os.path.basename(args.model), model_sha256=sha256(args.model), recipe=recipe,
        tensors=[dict(name=p["name"], method=p["method"]) for p in plan], seed=args.seed, torch=torch.__version__,
        onnx=os.path.basename(args.out), onnx_sha256=sha256(args.out),
        eval_tokens=args.eval_tokens, valid_perplexity=valid_ppl, test_perplexity=test_ppl,
        history=state["history"], train_seconds=state["train_seconds"],
    ))
    log(f"wrote {args.out} ({os.path.getsize(args.out)} bytes) and {stem}.reference.json", logfile)
    return 0


def sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


if __name__ == "__main__":
    sys.exit(main())
