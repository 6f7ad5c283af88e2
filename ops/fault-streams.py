"""Runs N concurrent greedy streaming completions against a Strata server with the official
`openai` client and writes {"texts", "finish", "errors" (one per stream, null when it completed),
"resume_seconds", "max_gap_seconds"} as JSON to --out; prints one summary line {"errors" (how many),
"first_error" (its text, or null), "resume_seconds", "max_gap_seconds"}.

While the streams run, once every stream has received --fault-after chunks, it runs --fault (a
shell command: kill a worker, cut a link, edit cluster.yaml) and records the time from the fault
to the next chunk any stream receives ("resume_seconds") and the longest wait of any stream between
two chunks after the fault ("max_gap_seconds": the pause a user sees). Used by ops/fault-test and the Swift tests.
"""
import argparse, json, subprocess, sys, threading, time

from openai import OpenAI

PROMPTS = [
    "The history of the printing press begins", "Once upon a time, in a small village,",
    "The three laws of thermodynamics are", "A good recipe for bread needs", "In the year 2050, cities will",
    "The most important idea in computer science is", "Mountains are formed when", "The best way to learn a language is",
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--streams", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--fault", default="")
    ap.add_argument("--fault-after", type=int, default=8)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    client = OpenAI(base_url=a.base_url, api_key="none", timeout=600, max_retries=0)
    n = a.streams
    texts, finish, errors = [""] * n, [None] * n, [None] * n
    counts = [0] * n
    lock = threading.Condition()
    state = {"fault_at": None, "resumed_at": None, "max_gap": 0.0}
    last = [None] * n   # when each stream's latest chunk came

    def run(i):
        try:
            stream = client.completions.create(model=a.model, prompt=PROMPTS[i % len(PROMPTS)], max_tokens=a.max_tokens,
                                               temperature=0, stream=True, extra_body={"ignore_eos": True})
            for chunk in stream:
                c = chunk.choices[0] if chunk.choices else None
                if c is None:
                    continue
                with lock:
                    now = time.monotonic()
                    if state["fault_at"] is not None and last[i] is not None:
                        state["max_gap"] = max(state["max_gap"], now - last[i])
                    last[i] = now
                    texts[i] += c.text or ""
                    if c.finish_reason:
                        finish[i] = c.finish_reason
                    counts[i] += 1
                    if state["fault_at"] is not None and state["resumed_at"] is None and time.monotonic() > state["fault_at"]:
                        state["resumed_at"] = time.monotonic()
                    lock.notify_all()
        except Exception as e:  # the test asserts on this: no stream may fail
            errors[i] = f"{type(e).__name__}: {e}"
            with lock:
                lock.notify_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    if a.fault:
        with lock:
            lock.wait_for(lambda: all(c >= a.fault_after or errors[i] or finish[i] for i, c in enumerate(counts)), timeout=300)
        subprocess.run(a.fault, shell=True, check=True)
        with lock:
            state["fault_at"] = time.monotonic()
    for t in threads:
        t.join()
    resume = None
    if state["fault_at"] is not None and state["resumed_at"] is not None:
        resume = state["resumed_at"] - state["fault_at"]
    gap = state["max_gap"] if state["fault_at"] is not None else None
    json.dump({"texts": texts, "finish": finish, "errors": errors, "resume_seconds": resume, "max_gap_seconds": gap},
              open(a.out, "w"), indent=1)
    failed = [e for e in errors if e is not None]
    print(json.dumps({"errors": len(failed), "first_error": failed[0][:500] if failed else None,
                      "resume_seconds": resume, "max_gap_seconds": gap}))


if __name__ == "__main__":
    main()
