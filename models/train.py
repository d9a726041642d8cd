#!/usr/bin/env python3
"""Train a word-level LSTM language model on Penn Treebank and export it to ONNX for lstm-edge.

Configurations follow Zaremba, Sutskever & Vinyals (2014), "Recurrent Neural Network Regularization",
the baselines of Grachev, Ignatov & Savchenko (2019):

  small   2 x 200, no dropout, 13 epochs, SGD lr 1 halved every epoch after epoch 4, batch 20,
          20 unrolled steps, gradient-norm clip 5, uniform init +-0.1
  medium  2 x 650, dropout 0.5, 39 epochs, lr 1 x 0.8 every epoch after epoch 6, batch 20,
          35 steps, clip 5, init +-0.05 (needs a CUDA GPU: days on a 2-core CPU)
  tiny    2 x 32 on a slice of PTB, for smoke tests (seconds)

As in Zaremba's TensorFlow code, the loss that SGD sees is the per-token cross-entropy summed over the
unrolled steps and averaged over the batch, so "lr 1" means the same thing as in the paper.

Perplexity convention (the same as `deno task eval`): one stream of tokens (whitespace-separated words,
one <eos> appended per line), batch 1, zero initial state, state carried across lines,
PPL = exp(mean negative log-likelihood of every token after the first).

Outputs, for --out models/ptb-small.onnx:
  models/ptb-small.onnx             Embedding -> LSTM x N -> Linear, vocabulary in metadata_props "vocab"
  models/ptb-small.reference.json   PyTorch's valid/test perplexity and logits for a fixed sentence
  models/ptb-small.train.log        one line per epoch (appended to on --resume)

Checkpoints are written atomically every --checkpoint-minutes (default 10) and at the end of every epoch;
--resume continues from the checkpoint exactly where it stopped (same batches, same RNG state).

Example:
  /usr/bin/python3 models/train.py --config small --data ../shared/data/ptb --out models/ptb-small.onnx
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import inspect
import json
import math
import os
import platform
import sys
import time

import torch
import torch.nn as nn

CONFIGS = {
    "small": dict(layers=2, hidden=200, dropout=0.0, epochs=13, lr=1.0, decay=0.5, decay_after=4,
                  batch=20, steps=20, clip=5.0, init=0.1, train_tokens=None),
    "medium": dict(layers=2, hidden=650, dropout=0.5, epochs=39, lr=1.0, decay=0.8, decay_after=6,
                   batch=20, steps=35, clip=5.0, init=0.05, train_tokens=None),
    "tiny": dict(layers=2, hidden=32, dropout=0.0, epochs=1, lr=1.0, decay=0.5, decay_after=4,
                 batch=4, steps=8, clip=5.0, init=0.1, train_tokens=4000),
}

REFERENCE_SENTENCE = "the company said it expects to report a loss for the third quarter <eos>"


def log(msg: str, logfile: str | None = None) -> None:
    line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}"
    print(line, flush=True)
    if logfile:
        with open(logfile, "a") as f:
            f.write(line + "\n")


def read_tokens(path: str) -> list[str]:
    with open(path) as f:
        return [w for line in f for w in line.split() + ["<eos>"]]


def build_vocab(train_tokens: list[str]) -> list[str]:
    # Zaremba's reader: most frequent first, ties broken alphabetically. Deterministic.
    counts = collections.Counter(train_tokens)
    return [w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


class LstmLanguageModel(nn.Module):
    """Embedding (V, E) -> nn.LSTM (num_layers, sequence-major) -> Linear (V, H) + bias; E = H unless given."""

    def __init__(self, vocab_size: int, hidden: int, layers: int, dropout: float, embed: int | None = None):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.embedding = nn.Embedding(vocab_size, embed or hidden)
        self.lstm = nn.LSTM(embed or hidden, hidden, layers, dropout=dropout)
        self.decoder = nn.Linear(hidden, vocab_size)

    def forward(self, tokens, h0, c0):
        # tokens: (T, B) int64; h0, c0: (layers, B, H)
        x = self.drop(self.embedding(tokens))
        y, (h, c) = self.lstm(x, (h0, c0))
        return self.decoder(self.drop(y)), h, c


def batchify(ids: torch.Tensor, batch: int) -> torch.Tensor:
    n = ids.numel() // batch
    return ids[: n * batch].view(batch, n).t().contiguous()  # (n, B)


def stream_perplexity(model: LstmLanguageModel, ids: torch.Tensor, device, chunk: int = 2000) -> float:
    """The spine convention: batch 1, zero state, state carried, every token after the first scored."""
    model.eval()
    layers, hidden = model.lstm.num_layers, model.lstm.hidden_size
    h = torch.zeros(layers, 1, hidden, device=device)
    c = torch.zeros(layers, 1, hidden, device=device)
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, ids.numel() - 1, chunk):
            inp = ids[start: start + chunk].to(device)
            tgt = ids[start + 1: start + 1 + chunk].to(device)
            inp = inp[: tgt.numel()]
            logits, h, c = model(inp.view(-1, 1), h, c)
            nll = nn.functional.cross_entropy(logits.view(-1, logits.size(-1)).double(), tgt, reduction="sum")
            total += nll.item()
            count += tgt.numel()
    return math.exp(total / count)


def write_reference(stem: str, model: LstmLanguageModel, encode, fields: dict) -> None:
    """STEM.reference.json, atomically: `fields`, the perplexity convention, and the model's logits for
    REFERENCE_SENTENCE from the zero state (what the tests compare the compiled model with)."""
    model = model.cpu().eval()
    layers, hidden = model.lstm.num_layers, model.lstm.hidden_size
    ids = encode(REFERENCE_SENTENCE.split())
    with torch.no_grad():
        logits, _, _ = model(ids.view(-1, 1), torch.zeros(layers, 1, hidden), torch.zeros(layers, 1, hidden))
    reference = dict(
        fields,
        perplexity_convention="one stream, <eos> per line, zero initial state, state carried, "
                              "exp(mean NLL of every token after the first)",
        sentence=REFERENCE_SENTENCE, sentence_ids=ids.tolist(),
        logits=[[round(float(v), 6) for v in row] for row in logits[:, 0, :]],
    )
    with open(stem + ".reference.json.tmp", "w") as f:
        json.dump(reference, f)
    os.replace(stem + ".reference.json.tmp", stem + ".reference.json")


def record_batch(state: dict, loss: float, tokens: int, epoch: int, batches: int, lr: float) -> None:
    """Counts one batch into the epoch's running train perplexity, logged every tenth of the epoch."""
    state["loss_sum"] += loss * tokens
    state["loss_tokens"] += tokens
    state["batch"] += 1
    if state["batch"] % max(batches // 10, 1) == 0:
        log(f"epoch {epoch + 1} {state['batch']}/{batches} lr {lr:g} "
            f"train ppl {math.exp(state['loss_sum'] / state['loss_tokens']):.2f}")


def save_atomic(obj, path: str) -> None:
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def export_onnx(model: LstmLanguageModel, vocab: list[str], path: str, opset: int, meta: dict) -> None:
    import onnx  # only needed for export; torch.onnx itself needs it too

    model = model.cpu().eval()
    layers, hidden = model.lstm.num_layers, model.lstm.hidden_size
    tokens = torch.zeros(3, 1, dtype=torch.int64)
    h0 = torch.zeros(layers, 1, hidden)
    c0 = torch.zeros(layers, 1, hidden)
    tmp = path + ".tmp"
    # torch >= 2.5 has a second exporter (dynamo); the importer reads what the TorchScript exporter writes.
    legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    torch.onnx.export(
        model, (tokens, h0, c0), tmp, opset_version=opset, do_constant_folding=True, **legacy,
        input_names=["tokens", "h0", "c0"], output_names=["logits", "h", "c"],
        dynamic_axes={"tokens": {0: "seq", 1: "batch"}, "h0": {1: "batch"}, "c0": {1: "batch"},
                      "logits": {0: "seq", 1: "batch"}, "h": {1: "batch"}, "c": {1: "batch"}},
    )
    m = onnx.load(tmp)
    for key, value in [("vocab", "\n".join(vocab)), *[(k, str(v)) for k, v in meta.items()]]:
        entry = m.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(m, tmp)
    os.replace(tmp, path)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__,
        epilog="Configurations:\n" + "\n".join(f"  {k}: {v}" for k, v in CONFIGS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", choices=sorted(CONFIGS), default="small", help="model/schedule (default small)")
    p.add_argument("--data", default="../shared/data/ptb", help="folder with ptb.{train,valid,test}.txt")
    p.add_argument("--out", required=True, help="ONNX file to write (reference JSON and log go beside it)")
    p.add_argument("--checkpoint", help="checkpoint file (default: OUT with .ckpt.pt)")
    p.add_argument("--checkpoint-minutes", type=float, default=10.0, help="checkpoint interval (default 10)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    p.add_argument("--epochs", type=int, help="override the config's number of epochs (may grow on --resume)")
    p.add_argument("--decay-after", type=int, help="override the epoch after which lr decays")
    p.add_argument("--max-batches", type=int, help="stop each epoch after this many batches (smoke tests)")
    p.add_argument("--eval-tokens", type=int, help="score only the first N valid/test tokens (smoke tests)")
    p.add_argument("--seed", type=int, default=1234, help="random seed (default 1234)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (default: all cores)")
    p.add_argument("--opset", type=int, default=13, help="ONNX opset for the export (default 13)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu",
                   help="torch device (default: cuda when available)")
    p.add_argument("--export-only", action="store_true", help="export the checkpoint without training")
    args = p.parse_args(argv)

    cfg = dict(CONFIGS[args.config])
    if args.epochs is not None:
        cfg["epochs"] = args.epochs
    if args.decay_after is not None:
        cfg["decay_after"] = args.decay_after
    stem = args.out[:-5] if args.out.endswith(".onnx") else args.out
    ckpt_path = args.checkpoint or stem + ".ckpt.pt"
    logfile = stem + ".train.log"
    device = torch.device(args.device)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    if args.threads:
        torch.set_num_threads(args.threads)

    for split in ("train", "valid", "test"):
        f = os.path.join(args.data, f"ptb.{split}.txt")
        if not os.path.isfile(f):
            p.error(f"missing {f}: --data must be the folder holding ptb.train.txt, ptb.valid.txt, ptb.test.txt")

    train_words = read_tokens(os.path.join(args.data, "ptb.train.txt"))
    vocab = build_vocab(train_words)
    index = {w: i for i, w in enumerate(vocab)}
    unk = index.get("<unk>")

    def encode(words):
        return torch.tensor([index.get(w, unk) for w in words], dtype=torch.int64)

    train_ids = encode(train_words)
    if cfg["train_tokens"]:
        train_ids = train_ids[: cfg["train_tokens"]]
    valid_ids = encode(read_tokens(os.path.join(args.data, "ptb.valid.txt")))
    test_ids = encode(read_tokens(os.path.join(args.data, "ptb.test.txt")))
    if args.eval_tokens:
        valid_ids, test_ids = valid_ids[: args.eval_tokens], test_ids[: args.eval_tokens]

    torch.manual_seed(args.seed)
    model = LstmLanguageModel(len(vocab), cfg["hidden"], cfg["layers"], cfg["dropout"])
    for param in model.parameters():
        nn.init.uniform_(param, -cfg["init"], cfg["init"])
    model.to(device)
    data = batchify(train_ids, cfg["batch"]).to(device)
    batches_per_epoch = (data.size(0) - 1) // cfg["steps"]
    if args.max_batches:
        batches_per_epoch = min(batches_per_epoch, args.max_batches)

    state = dict(epoch=0, batch=0, loss_sum=0.0, loss_tokens=0, hidden=None, history=[], train_seconds=0.0)
    if args.resume or args.export_only:
        if not os.path.isfile(ckpt_path):
            p.error(f"no checkpoint at {ckpt_path} to resume from")
        ck = torch.load(ckpt_path, map_location="cpu")
        same = {k: v for k, v in ck["config"].items() if k != "epochs"} == {k: v for k, v in cfg.items() if k != "epochs"}
        if not same or ck["vocab_size"] != len(vocab):
            p.error(f"checkpoint {ckpt_path} was made with another config: {ck['config']}")
        model.load_state_dict(ck["model"])
        torch.set_rng_state(ck["rng"])
        if ck.get("cuda_rng") is not None and device.type == "cuda":
            torch.cuda.set_rng_state_all(ck["cuda_rng"])
        state = ck["state"]
        log(f"resumed from {ckpt_path} at epoch {state['epoch'] + 1}, batch {state['batch']}", logfile)
    else:
        log(f"start config={args.config} {json.dumps(cfg)} vocab={len(vocab)} train_tokens={train_ids.numel()} "
            f"batches/epoch={batches_per_epoch} device={device} threads={torch.get_num_threads()} "
            f"torch={torch.__version__} host={platform.node()} cmd={' '.join(sys.argv)}", logfile)

    def checkpoint():
        save_atomic(dict(config=cfg, vocab_size=len(vocab), model=model.state_dict(), rng=torch.get_rng_state(),
                         cuda_rng=torch.cuda.get_rng_state_all() if device.type == "cuda" else None,
                         state=state), ckpt_path)

    layers, hidden = cfg["layers"], cfg["hidden"]
    last_ckpt = time.time()
    while not args.export_only and state["epoch"] < cfg["epochs"]:
        epoch = state["epoch"]
        lr = cfg["lr"] * cfg["decay"] ** max(epoch + 1 - cfg["decay_after"], 0)
        model.train()
        if state["hidden"] is None:
            h = torch.zeros(layers, cfg["batch"], hidden, device=device)
            c = torch.zeros(layers, cfg["batch"], hidden, device=device)
        else:
            h, c = (t.to(device) for t in state["hidden"])
        t0 = time.time()
        while state["batch"] < batches_per_epoch:
            i = state["batch"] * cfg["steps"]
            inp, tgt = data[i: i + cfg["steps"]], data[i + 1: i + 1 + cfg["steps"]]
            h, c = h.detach(), c.detach()
            logits, h, c = model(inp, h, c)
            loss = nn.functional.cross_entropy(logits.view(-1, len(vocab)), tgt.reshape(-1))
            model.zero_grad(set_to_none=True)
            (loss * cfg["steps"]).backward()  # sum over steps, mean over batch (Zaremba's cost)
            nn.utils.clip_grad_norm_(model.parameters(), cfg["clip"])
            with torch.no_grad():
                for param in model.parameters():
                    param.add_(param.grad, alpha=-lr)
            record_batch(state, loss.item(), tgt.numel(), epoch, batches_per_epoch, lr)
            if time.time() - last_ckpt > args.checkpoint_minutes * 60:
                state["hidden"] = (h.detach().cpu(), c.detach().cpu())
                state["train_seconds"] += time.time() - t0
                t0 = time.time()
                checkpoint()
                last_ckpt = time.time()
        state["train_seconds"] += time.time() - t0
        train_ppl = math.exp(state["loss_sum"] / max(state["loss_tokens"], 1))
        valid_ppl = stream_perplexity(model, valid_ids, device)
        state["history"].append(dict(epoch=epoch + 1, lr=lr, train_ppl=train_ppl, valid_ppl=valid_ppl))
        log(f"epoch {epoch + 1}/{cfg['epochs']} lr {lr:g} train ppl {train_ppl:.2f} valid ppl {valid_ppl:.2f} "
            f"train time {state['train_seconds'] / 60:.1f} min", logfile)
        state.update(epoch=epoch + 1, batch=0, loss_sum=0.0, loss_tokens=0, hidden=None)
        checkpoint()
        last_ckpt = time.time()

    valid_ppl = stream_perplexity(model, valid_ids, device)
    test_ppl = stream_perplexity(model, test_ids, device)
    log(f"final valid ppl {valid_ppl:.3f} test ppl {test_ppl:.3f}", logfile)

    model.cpu().eval()
    meta = dict(config=args.config, valid_perplexity=round(valid_ppl, 4), test_perplexity=round(test_ppl, 4))
    # Text normalization for the runtime (runtime/tokenizer.ts): PTB is lowercase with numbers as "N".
    rules = {"lowercase": True, "eosPerLine": True, **({"numberToken": "N"} if "N" in vocab else {})}
    meta["tokenizer"] = json.dumps(rules)
    export_onnx(model, vocab, args.out, args.opset, meta)
    with open(args.out, "rb") as f:
        onnx_sha = hashlib.sha256(f.read()).hexdigest()
    write_reference(stem, model, encode, dict(
        config=args.config, hyperparameters=cfg, seed=args.seed, torch=torch.__version__,
        onnx=os.path.basename(args.out), onnx_sha256=onnx_sha,
        eval_tokens=args.eval_tokens, valid_perplexity=valid_ppl, test_perplexity=test_ppl,
        history=state["history"], train_seconds=state["train_seconds"],
    ))
    log(f"wrote {args.out} ({os.path.getsize(args.out)} bytes) and {stem}.reference.json", logfile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
