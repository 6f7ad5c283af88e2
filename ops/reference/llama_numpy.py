#!/usr/bin/env python3
"""An independent float64 numpy forward pass of a GGUF `llama` model, for checking Strata's f32 path.

Dequantizes with the `gguf` package, undoes llama.cpp's Q/K row permutation, and runs the HF
Llama forward pass (rotate-half RoPE). Prints the top-5 logits at the last prompt position and
greedy continuation ids as JSON.

    python3 ops/reference/llama_numpy.py MODEL.gguf 504,3575,282,4649,314 [n_greedy]
"""
import json, sys
import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize

def load(path):
    r = GGUFReader(path)
    md = {f.name: f for f in r.fields.values()}
    def val(k):
        f = md[k]; v = f.parts[f.data[0]]
        return v.tolist()[0] if hasattr(v, "tolist") else v
    t = {}
    for ten in r.tensors:
        a = dequantize(ten.data, ten.tensor_type).astype(np.float64)
        t[ten.name] = a.reshape([int(x) for x in reversed(ten.shape.tolist())])
    cfg = dict(n_layer=val("llama.block_count"), n_head=val("llama.attention.head_count"),
               n_kv=val("llama.attention.head_count_kv"), eps=val("llama.attention.layer_norm_rms_epsilon"),
               theta=val("llama.rope.freq_base"))
    return cfg, t

def unpermute(w, n_head):
    # llama.cpp convert: w.reshape(n_head, 2, d/2, in).swapaxes(1, 2) -> invert
    d = w.shape[0] // n_head
    return w.reshape(n_head, d // 2, 2, -1).swapaxes(1, 2).reshape(w.shape)

def rms(x, w, eps): return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w

def forward(cfg, t, ids):
    x = t["token_embd.weight"][ids]
    T, H = x.shape
    nh, nkv = cfg["n_head"], cfg["n_kv"]; hd = H // nh
    inv = 1.0 / cfg["theta"] ** (np.arange(0, hd, 2) / hd)
    ang = np.arange(T)[:, None] * inv[None, :]
    cos, sin = np.cos(ang), np.sin(ang)
    def rope(v):  # (T, heads, hd)
        a, b = v[..., :hd // 2], v[..., hd // 2:]
        return np.concatenate([a * cos[:, None] - b * sin[:, None], b * cos[:, None] + a * sin[:, None]], -1)
    mask = np.triu(np.full((T, T), -np.inf), 1)
    for i in range(cfg["n_layer"]):
        p = f"blk.{i}."
        h = rms(x, t[p + "attn_norm.weight"], cfg["eps"])
        q = h @ unpermute(t[p + "attn_q.weight"], nh).T
        k = h @ unpermute(t[p + "attn_k.weight"], nkv).T
        v = h @ t[p + "attn_v.weight"].T
        q = rope(q.reshape(T, nh, hd)); k = rope(k.reshape(T, nkv, hd)); v = v.reshape(T, nkv, hd)
        rep = nh // nkv
        k = np.repeat(k, rep, 1); v = np.repeat(v, rep, 1)
        s = np.einsum("thd,shd->hts", q, k) / np.sqrt(hd) + mask
        s = np.exp(s - s.max(-1, keepdims=True)); s /= s.sum(-1, keepdims=True)
        a = np.einsum("hts,shd->thd", s, v).reshape(T, H)
        x = x + a @ t[p + "attn_output.weight"].T
        h = rms(x, t[p + "ffn_norm.weight"], cfg["eps"])
        g = h @ t[p + "ffn_gate.weight"].T; u = h @ t[p + "ffn_up.weight"].T
        x = x + (g / (1 + np.exp(-g)) * u) @ t[p + "ffn_down.weight"].T
    x = rms(x, t["output_norm.weight"], cfg["eps"])
    head = t.get("output.weight", t["token_embd.weight"])
    return x[-1] @ head.T

if __name__ == "__main__":
    cfg, t = load(sys.argv[1])
    ids = [int(s) for s in sys.argv[2].split(",")]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    logits = forward(cfg, t, ids)
    top = np.argsort(-logits)[:5]
    out = {"top5": [[int(i), float(logits[i])] for i in top], "greedy": []}
    for _ in range(n):
        nxt = int(np.argmax(forward(cfg, t, ids)))
        out["greedy"].append(nxt); ids.append(nxt)
    print(json.dumps(out))
