#!/usr/bin/env python3
"""Batched decode, batch 1 vs batch N, of Strata next to llama.cpp (llama-cpp-python), one machine.

Run through ops/bench-batch-peer (installs llama-cpp-python once, builds Strata, makes the Q8_0
copy). The shape is `strata bench batch`'s: N sequences, each prefilled with 32 distinct token
ids, then decode steps of one token per sequence; batch-1 and batch-N steps alternate, medians
over passes. Repetitions interleave the engines (Strata on the Q4_1 GGUF as FP8, llama.cpp on the
same Q4_1 GGUF and on its Q8_0 conversion, the equal-bytes peer of FP8), so drift of a shared
machine weighs on all alike. llama.cpp steps are timed around llama_decode (the batch is filled
before the clock starts); Strata's step includes sampling, llama.cpp's does not.

Prints per engine the median step times and `N·t(1)/t(N)` (tokens/s at batch N over batch 1);
the last lines are `batch_decode_ratio_<engine>: X`.
"""
import argparse, re, statistics, subprocess, sys, time

import llama_cpp as L

PROMPT_TOKENS = 32
# llama.cpp logs every model load to stderr; keep the report readable (the callback must outlive
# every call, hence module scope).
_QUIET = L.llama_log_callback(lambda level, text, user: None)
L.llama_log_set(_QUIET, None)


class BatchedLlama:
    """A GGUF loaded once with room for N sequences; steps of 1 or N tokens at the next positions."""

    def __init__(self, path, n, threads):
        L.llama_backend_init()
        self.model = L.llama_model_load_from_file(path.encode(), L.llama_model_default_params())
        if not self.model:
            sys.exit(f"llama.cpp cannot load {path}")
        cp = L.llama_context_default_params()
        cp.n_ctx = 1024 * n
        cp.n_batch = cp.n_ubatch = 512
        cp.n_seq_max = n
        cp.n_threads = cp.n_threads_batch = threads
        self.ctx = L.llama_init_from_model(self.model, cp)
        self.vocab = L.llama_vocab_n_tokens(L.llama_model_get_vocab(self.model))
        self.batch = L.llama_batch_init(512, 0, n)
        self.n = n
        self.pos = [0] * n

    def close(self):
        L.llama_batch_free(self.batch)
        L.llama_free(self.ctx)
        L.llama_model_free(self.model)

    def fill(self, items):
        """items: (token, position, sequence, logits?)"""
        b = self.batch
        b.n_tokens = len(items)
        for i, (t, p, s, lg) in enumerate(items):
            b.token[i] = t; b.pos[i] = p; b.n_seq_id[i] = 1; b.seq_id[i][0] = s; b.logits[i] = 1 if lg else 0

    def decode(self):
        rc = L.llama_decode(self.ctx, self.batch)
        if rc != 0:
            sys.exit(f"llama_decode failed ({rc})")

    def prefill(self):
        for s in range(self.n):
            # Distinct prompts, as strata bench batch makes them.
            prompt = [(17 * k + 101 * s + 3) % self.vocab for k in range(PROMPT_TOKENS)]
            self.fill([(t, k, s, k == PROMPT_TOKENS - 1) for k, t in enumerate(prompt)])
            self.decode()
            self.pos[s] = PROMPT_TOKENS

    def step(self, m):
        self.fill([(1, self.pos[s], s, True) for s in range(m)])
        t = time.perf_counter()
        self.decode()
        dt = time.perf_counter() - t
        for s in range(m):
            self.pos[s] += 1
        return dt


def run_llama(path, n, threads, passes):
    llm = BatchedLlama(path, n, threads)
    try:
        llm.prefill()
        llm.step(1); llm.step(n)
        ones, manys = [], []
        for _ in range(passes):
            ones.append(llm.step(1))
            manys.append(llm.step(n))
        return statistics.median(ones), statistics.median(manys)
    finally:
        llm.close()


def run_strata(binary, gguf, n, threads, passes):
    r = subprocess.run([binary, "bench", "batch", "--model", gguf, "--batch", str(n), "--passes", str(passes),
                        "--threads", str(threads)], capture_output=True, text=True, check=True)
    m = re.search(r"^decode step\s+([0-9.]+)\s+([0-9.]+)", r.stdout, re.M)
    if not m:
        sys.exit(f"cannot parse strata bench batch:\n{r.stdout}{r.stderr}")
    return float(m.group(1)) / 1e3, float(m.group(2)) / 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--strata", required=True)
    ap.add_argument("--q4", required=True)
    ap.add_argument("--q8", required=True)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--passes", type=int, default=21)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    engines = [("strata_fp8", lambda: run_strata(a.strata, a.q4, a.batch, a.threads, a.passes)),
               ("llamacpp_q8_0", lambda: run_llama(a.q8, a.batch, a.threads, a.passes)),
               ("llamacpp_q4_1", lambda: run_llama(a.q4, a.batch, a.threads, a.passes))]
    results = {name: [] for name, _ in engines}
    for rep in range(a.reps):
        for name, run in engines:
            one, many = run()
            results[name].append((one, many))
            print(f"rep {rep + 1} {name}: step batch 1 {one * 1e3:.2f} ms, batch {a.batch} {many * 1e3:.2f} ms, "
                  f"ratio {a.batch * one / many:.2f}", flush=True)
    print(f"SmolLM2-135M, {a.threads} threads, batch 1 vs {a.batch}, medians of {a.passes} passes, {a.reps} reps")
    for name, rs in results.items():
        one = statistics.median(r[0] for r in rs)
        many = statistics.median(r[1] for r in rs)
        print(f"{name}: batch 1 {1 / one:.1f} tok/s, batch {a.batch} {a.batch / many:.1f} tok/s")
    for name, rs in results.items():
        print(f"batch_decode_ratio_{name}: {statistics.median(a.batch * r[0] / r[1] for r in rs):.2f}")


if __name__ == "__main__":
    main()
