#!/usr/bin/env python3
"""Prefill and decode tokens/s of Strata vs llama.cpp (llama-cpp-python) on the same machine.

Run through ops/bench-peer, which installs llama-cpp-python once, builds Strata and makes the Q8_0
copy. Per thread count (1 and all cores) and repetition, runs interleaved: `strata generate` on the
Q4_1 GGUF (greedy), then llama.cpp on the same Q4_1 GGUF and on its Q8_0 conversion (the
equal-bytes peer of FP8), with the same prompt tokens and the same number of generated tokens.

Strata's figures are its own stderr report (prompt tokens/s: prefill of the whole prompt plus the
first token's head and sampling; generation tokens/s: the tokens after the first). llama.cpp's are
its C-level perf counters (llama_perf_context: t_p_eval for the prompt batch, t_eval for the
one-token decodes), so Python overhead is not counted against it. Medians over repetitions.
"""
import argparse, ctypes, os, pathlib, re, statistics, subprocess, sys

import numpy as np
import llama_cpp

PROMPT_FILE = "/usr/share/common-licenses/GPL-3"


def prompt_text(chars):
    text = open(PROMPT_FILE, encoding="utf-8").read()
    start = text.index("Preamble")
    return text[start:start + chars]


def run_strata(binary, gguf, prompt, tokens, threads):
    r = subprocess.run([binary, "generate", "--model", gguf, "--prompt", prompt, "--max-tokens", str(tokens),
                        "--temperature", "0", "--threads", str(threads)],
                       capture_output=True, text=True, check=True)
    p = re.search(r"prompt: (\d+) tokens, ([0-9.]+) tokens/s", r.stderr)
    g = re.search(r"generation: (\d+) tokens, ([0-9.]+) tokens/s", r.stderr)
    if not p or not g:
        sys.exit(f"cannot parse strata's report:\n{r.stderr}")
    return int(p.group(1)), float(p.group(2)), int(g.group(1)), float(g.group(2))


class LlamaCpp:
    """One GGUF loaded once; threads switched per measurement."""

    def __init__(self, path, n_ctx):
        self.llm = llama_cpp.Llama(model_path=path, n_ctx=n_ctx, n_batch=512, n_ubatch=512,
                                   n_threads=1, n_threads_batch=1, verbose=False)
        self.ctx = self.llm._ctx.ctx
        self.vocab = self.llm.n_vocab()

    def tokenize(self, text):
        return self.llm.tokenize(text.encode(), add_bos=True, special=False)

    def run(self, prompt_ids, generate, threads):
        """(prefill tok/s, decode tok/s, greedy ids): the prompt as one batch, then `generate` tokens,
        the first from the prompt's logits, the other `generate - 1` each from a one-token decode."""
        llama_cpp.llama_set_n_threads(self.ctx, threads, threads)
        self.llm.reset()
        llama_cpp.llama_perf_context_reset(self.ctx)
        self.llm.eval(prompt_ids)
        llama_cpp.llama_synchronize(self.ctx)  # the perf counters are updated here
        prefill = llama_cpp.llama_perf_context(self.ctx)
        ids = [self.argmax()]
        llama_cpp.llama_perf_context_reset(self.ctx)
        for _ in range(generate - 1):
            self.llm.eval([ids[-1]])
            ids.append(self.argmax())  # reading the logits synchronizes
        decode = llama_cpp.llama_perf_context(self.ctx)
        assert prefill.n_p_eval == len(prompt_ids), (prefill.n_p_eval, len(prompt_ids))
        assert decode.n_eval == generate - 1, (decode.n_eval, generate - 1)
        return (prefill.n_p_eval / prefill.t_p_eval_ms * 1e3, decode.n_eval / decode.t_eval_ms * 1e3, ids)

    def argmax(self):
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self.ctx, -1), shape=(self.vocab,))
        return int(np.argmax(logits))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--strata", required=True)
    ap.add_argument("--q4", required=True)
    ap.add_argument("--q8", required=True)
    ap.add_argument("--prompt-chars", type=int, default=1400, help="characters of GPL-3 (about 256 tokens)")
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", default=f"1,{os.cpu_count()}")
    a = ap.parse_args()
    threads = sorted({int(t) for t in a.threads.split(",")})
    prompt = prompt_text(a.prompt_chars)
    peers = {"q4_1": LlamaCpp(a.q4, 1024), "q8_0": LlamaCpp(a.q8, 1024)}
    ids = peers["q4_1"].tokenize(prompt)
    print(f"llama.cpp: llama-cpp-python {llama_cpp.__version__}; {llama_cpp.llama_print_system_info().decode().strip()}")
    print(f"load average at start: {os.getloadavg()[0]:.2f} (a busy machine skews the multi-thread figures)")
    print(f"prompt: {len(ids)} tokens (GPL-3 preamble), greedy, {a.reps} repetitions interleaved, medians")

    # Warm-up (page cache, first allocations); also fixes how many tokens each side generates.
    n_prompt, _, generated, _ = run_strata(a.strata, a.q4, prompt, a.tokens, threads[-1])
    if n_prompt != len(ids):
        sys.exit(f"prompt token counts differ: strata {n_prompt}, llama.cpp {len(ids)}")
    if generated < 16:
        sys.exit(f"strata stopped after {generated} tokens (EOS); choose another prompt")
    for p in peers.values():
        p.run(ids, generated, threads[-1])

    results = {}  # (engine, threads) -> list of (prefill, decode)
    for rep in range(a.reps):
        for t in threads:
            _, pp, g, tg = run_strata(a.strata, a.q4, prompt, a.tokens, t)
            assert g == generated, "strata's greedy output changed between runs"
            results.setdefault(("strata", t), []).append((pp, tg))
            for name, p in peers.items():
                pp, tg, _ = p.run(ids, generated, t)
                results.setdefault((name, t), []).append((pp, tg))
            print(f"  rep {rep + 1} {t}t: " + "  ".join(f"{e} pp {v[-1][0]:.1f} tg {v[-1][1]:.1f}"
                  for (e, th), v in results.items() if th == t), file=sys.stderr, flush=True)

    med = {k: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)) for k, v in results.items()}
    print(f"\ntokens/s (median of {a.reps}); prefill = {len(ids)}-token prompt, decode = {generated - 1} one-token steps")
    print(f"{'engine':28s} " + " ".join(f"{'pp ' + str(t) + 't':>9s} {'tg ' + str(t) + 't':>9s}" for t in threads))
    labels = {"strata": "strata fp8 (Q4_1 gguf)", "q4_1": "llama.cpp Q4_1", "q8_0": "llama.cpp Q8_0"}
    for e in ("strata", "q4_1", "q8_0"):
        print(f"{labels[e]:28s} " + " ".join(f"{med[(e, t)][0]:9.1f} {med[(e, t)][1]:9.1f}" for t in threads))
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    print()
    for peer in ("q8_0", "q4_1"):
        for t in threads:
            print(f"prefill_ratio_vs_{peer}_t{t}: {med[('strata', t)][0] / med[(peer, t)][0]:.3f}")
            print(f"decode_ratio_vs_{peer}_t{t}: {med[('strata', t)][1] / med[(peer, t)][1]:.3f}")


if __name__ == "__main__":
    main()
