#!/usr/bin/env python3
"""Writes the checkpoint-format fixtures of Tests/StrataModelTests/Fixtures (see its README).

Every expected value here comes from reference libraries, not from Strata: gguf-py's
`gguf.quants.dequantize` (ggml's reference dequantizers ported to numpy), the `safetensors`
writer, and `ml_dtypes` for E4M3 and bfloat16. Run through ops/gen-format-fixtures.
"""
import json
import sys
from pathlib import Path

import gguf
import ml_dtypes
import numpy as np
from gguf.quants import dequantize, quantize
from safetensors.numpy import save_file

Q = gguf.GGMLQuantizationType
OUT = Path(sys.argv[2])
SMOL = sys.argv[1]
HEADS, KV_HEADS = 9, 3  # SmolLM2-135M


def write_f32(rel, a):
    path = OUT / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(np.ascontiguousarray(a, dtype="<f4").tobytes())
    return rel


def hf_from_gguf_qk(w, heads):
    """Inverse of convert_hf_to_gguf's LlamaModel.permute: (h, hd/2, 2) rows back to (h, 2, hd/2)."""
    rows = w.shape[0]
    back = w.reshape(heads, rows // heads // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)
    fwd = back.reshape(heads, 2, rows // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)
    assert np.array_equal(fwd.view(np.uint32), w.view(np.uint32)), "permutation round trip"
    return back


def smollm2_cases():
    reader = gguf.GGUFReader(SMOL)
    by_name = {t.name: t for t in reader.tensors}
    cases = []
    plan = [  # (gguf name, canonical name, HF rows to keep, heads for un-permute)
        ("token_embd.weight", "model.embed_tokens.weight", [0, 1, 100, 49151], None),
        ("blk.0.ffn_down.weight", "model.layers.0.mlp.down_proj.weight", [0, 1, 575], None),
        ("blk.5.attn_v.weight", "model.layers.5.self_attn.v_proj.weight", [0, 191], None),
        ("blk.0.attn_norm.weight", "model.layers.0.input_layernorm.weight", [0], None),
        ("output_norm.weight", "model.norm.weight", [0], None),
        ("blk.0.attn_q.weight", "model.layers.0.self_attn.q_proj.weight", [0, 1, 31, 32, 33, 63, 64, 100, 575], HEADS),
        ("blk.29.attn_k.weight", "model.layers.29.self_attn.k_proj.weight", [0, 1, 31, 32, 63, 64, 130, 191], KV_HEADS),
    ]
    for gname, canonical, rows, heads in plan:
        t = by_name[gname]
        shape = [int(d) for d in reversed(t.shape)]  # ggml order -> row-major
        full = dequantize(t.data, t.tensor_type).astype(np.float32).reshape(-1, shape[-1])
        if heads:
            full = hf_from_gguf_qk(full, heads)
        stem = gname.removesuffix(".weight").replace(".", "_")
        cases.append({
            "gguf": gname, "canonical": canonical, "type": t.tensor_type.name, "shape": shape,
            "rows": rows, "expected": write_f32(f"smollm2/{stem}.f32", full[rows]),
        })
    return cases


def quant_cases(rng):
    """A tiny GGUF with one tensor per decoded type: [3, 512] each (two K super-blocks per row)."""
    rows, cols = 3, 512
    writer = gguf.GGUFWriter(str(OUT / "quants.gguf"), "llama")
    cases = []

    def raw_blocks(qtype, half_offsets):
        bpb = gguf.GGML_QUANT_SIZES[qtype][1]
        n = rows * cols // gguf.GGML_QUANT_SIZES[qtype][0]
        b = rng.integers(0, 256, size=(n, bpb), dtype=np.uint8)
        for off in half_offsets:  # finite f16 scales of a plausible size, some negative
            b[:, off:off + 2] = (rng.standard_normal(n) * 0.02).astype(np.float16).view(np.uint8).reshape(n, 2)
        return b.reshape(rows, -1)

    dense = rng.standard_normal((rows, cols)).astype(np.float32)
    tensors = [
        ("token_embd.weight", "model.embed_tokens.weight", Q.Q8_0, quantize(dense, Q.Q8_0)),
        ("blk.0.ffn_down.weight", "model.layers.0.mlp.down_proj.weight", Q.Q4_0, quantize(dense, Q.Q4_0)),
        ("output.weight", "lm_head.weight", Q.Q4_1, quantize(dense, Q.Q4_1)),
        ("blk.0.ffn_gate.weight", "model.layers.0.mlp.gate_proj.weight", Q.Q4_K, raw_blocks(Q.Q4_K, [0, 2])),
        ("blk.0.ffn_up.weight", "model.layers.0.mlp.up_proj.weight", Q.Q6_K, raw_blocks(Q.Q6_K, [208])),
        ("blk.1.ffn_gate.weight", "model.layers.1.mlp.gate_proj.weight", Q.Q5_0, quantize(dense, Q.Q5_0)),
        ("blk.1.ffn_up.weight", "model.layers.1.mlp.up_proj.weight", Q.Q5_1, quantize(dense, Q.Q5_1)),
        ("blk.1.ffn_down.weight", "model.layers.1.mlp.down_proj.weight", Q.Q5_K, raw_blocks(Q.Q5_K, [0, 2])),
        ("blk.0.attn_norm.weight", "model.layers.0.input_layernorm.weight", Q.F16,
         (dense * 2.0 ** rng.integers(-20, 8, size=dense.shape)).astype(np.float16).view(np.uint8)),
        ("blk.0.ffn_norm.weight", "model.layers.0.post_attention_layernorm.weight", Q.BF16,
         dense.astype(ml_dtypes.bfloat16).view(np.uint8)),
        ("output_norm.weight", "model.norm.weight", Q.F32, dense.view(np.uint8)),
    ]
    for gname, canonical, qtype, raw in tensors:
        raw = np.ascontiguousarray(raw, dtype=np.uint8).reshape(rows, -1)
        writer.add_tensor(gname, raw, raw_shape=raw.shape, raw_dtype=qtype)
        expected = dequantize(raw, qtype).astype(np.float32).reshape(rows, cols)
        stem = gname.removesuffix(".weight").replace(".", "_")
        cases.append({"gguf": gname, "canonical": canonical, "type": qtype.name, "shape": [rows, cols],
                      "rows": list(range(rows)), "expected": write_f32(f"quants/{stem}.f32", expected)})
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return cases


def safetensors_cases(rng):
    """A safetensors file written by the reference library: every dtype Strata reads."""
    w = (rng.standard_normal((129, 130)) * 3).astype(np.float32)
    scale = (rng.random((2, 2)) * 0.01 + 0.001).astype(np.float32)
    codes = np.clip(w, -448, 448).astype(ml_dtypes.float8_e4m3fn)
    codes.view(np.uint8)[0, :2] = [0x7E, 0x01]  # max-normal and the smallest subnormal
    tensors = {
        "model.norm.weight": rng.standard_normal(33).astype(np.float32),
        "model.embed_tokens.weight": rng.standard_normal((5, 7)).astype(np.float16),
        "lm_head.weight": rng.standard_normal((4, 9)).astype(ml_dtypes.bfloat16),
        "model.layers.0.mlp.down_proj.weight": codes,
        "model.layers.0.mlp.down_proj.weight_scale_inv": scale,
    }
    save_file(tensors, str(OUT / "reference.safetensors"), metadata={"format": "pt"})
    block = np.repeat(np.repeat(scale, 128, axis=0), 128, axis=1)[:129, :130]
    expect = dict(tensors)
    expect["model.layers.0.mlp.down_proj.weight"] = codes.astype(np.float32) * block
    cases = []
    for name, a in expect.items():
        stem = name.replace(".", "_")
        cases.append({"name": name, "dtype": str(tensors[name].dtype), "shape": list(a.shape),
                      "expected": write_f32(f"safetensors/{stem}.f32", a.astype(np.float32))})
    e4m3 = np.arange(256, dtype=np.uint8).view(ml_dtypes.float8_e4m3fn).astype(np.float32)
    return {"file": "reference.safetensors", "tensors": cases,
            "e4m3Table": write_f32("safetensors/e4m3_codes.f32", e4m3)}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20261129)
    manifest = {"smollm2": smollm2_cases(), "quants": quant_cases(rng), "safetensors": safetensors_cases(rng)}
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


main()
