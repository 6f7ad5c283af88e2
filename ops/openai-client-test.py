#!/usr/bin/env python3
"""Checks a running Strata server with the official `openai` client (PyPI).

Run it through ops/openai-client-test, which installs the package once:

    ops/openai-client-test --base-url http://127.0.0.1:8000/v1 --model smollm2

Checks: model list, completions, chat, streaming chat equal to the same greedy request unstreamed,
stop sequences (whole and streamed), seed reproducibility at temperature 0.8, a bad request
(openai.BadRequestError naming the parameter), malformed JSON (400 in OpenAI's error shape), an
unknown model (openai.NotFoundError), and a prompt over the context (context_length_exceeded).
Prints one line per check; exits 1 if any failed.
"""

import argparse
import json
import sys
import traceback
import urllib.error
import urllib.request

import openai

PROMPT = "The three primary colors are"
QUESTION = [{"role": "user", "content": "Name three fruits, one per line."}]
FAILURES = []


class CheckFailed(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise CheckFailed(message)


def check(name):
    def wrap(fn):
        def run(*args):
            try:
                fn(*args)
                print(f"ok    {name}")
            except CheckFailed as e:
                FAILURES.append(name)
                print(f"FAIL  {name}: {e}")
            except Exception as e:  # noqa: BLE001 - report any client error as a failed check
                FAILURES.append(name)
                print(f"FAIL  {name}: unexpected {type(e).__name__}: {e}")
                traceback.print_exc(limit=3, file=sys.stdout)
        run.__name__ = fn.__name__
        return run
    return wrap


@check("GET /v1/models lists the model")
def models(client, model):
    ids = [m.id for m in client.models.list().data]
    expect(model in ids, f"{model!r} not in {ids}")


@check("completions: text, finish_reason, usage")
def completions(client, model):
    r = client.completions.create(model=model, prompt=PROMPT, max_tokens=16, temperature=0)
    c = r.choices[0]
    expect(r.object == "text_completion", f"object is {r.object!r}")
    expect(isinstance(c.text, str) and c.text.strip(), f"empty text {c.text!r}")
    expect(c.finish_reason in ("stop", "length"), f"finish_reason {c.finish_reason!r}")
    u = r.usage
    expect(u.prompt_tokens > 0 and 0 < u.completion_tokens <= 16, f"usage {u}")
    expect(u.total_tokens == u.prompt_tokens + u.completion_tokens, f"usage total {u}")


@check("completions: logprobs in the legacy shape")
def completion_logprobs(client, model):
    r = client.completions.create(model=model, prompt=PROMPT, max_tokens=6, temperature=0, logprobs=2)
    lp = r.choices[0].logprobs
    expect(lp is not None, "no logprobs")
    n = len(lp.tokens)
    expect(n > 0 and len(lp.token_logprobs) == n and len(lp.top_logprobs) == n and len(lp.text_offset) == n,
           f"lengths differ: {lp}")
    expect("".join(lp.tokens) == r.choices[0].text, f"tokens {lp.tokens!r} != text {r.choices[0].text!r}")


@check("chat: assistant message, usage")
def chat(client, model):
    r = client.chat.completions.create(model=model, messages=QUESTION, max_tokens=24, temperature=0)
    m = r.choices[0].message
    expect(r.object == "chat.completion", f"object is {r.object!r}")
    expect(m.role == "assistant", f"role {m.role!r}")
    expect(m.content and m.content.strip(), f"empty content {m.content!r}")
    expect(r.usage.completion_tokens > 0, f"usage {r.usage}")


def stream_text(client, model, **kwargs):
    """Concatenated content deltas, the finish reason, the usage chunk, and the chunks."""
    chunks = list(client.chat.completions.create(model=model, stream=True, **kwargs))
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    finish = [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason]
    usage = [ch.usage for ch in chunks if ch.usage is not None]
    return text, finish, usage, chunks


@check("streaming chat: deltas concatenate to the unstreamed greedy answer")
def streaming(client, model):
    params = dict(messages=QUESTION, max_tokens=24, temperature=0, seed=7)
    whole = client.chat.completions.create(model=model, **params).choices[0].message.content
    text, finish, usage, chunks = stream_text(client, model, stream_options={"include_usage": True}, **params)
    expect(chunks and chunks[0].choices and chunks[0].choices[0].delta.role == "assistant", "first delta has no role")
    expect(text == whole, f"streamed {text!r} != whole {whole!r}")
    expect(len(finish) == 1 and finish[0] in ("stop", "length"), f"finish reasons {finish}")
    expect(len(usage) == 1 and usage[0].completion_tokens > 0, f"usage chunks {usage}")
    expect(len({ch.id for ch in chunks}) == 1, "chunk ids differ")


@check("stop sequences: cut before the match, finish_reason stop (whole and streamed)")
def stop_sequences(client, model):
    full = client.completions.create(model=model, prompt=PROMPT, max_tokens=32, temperature=0).choices[0].text
    words = [w for w in full.split() if len(w) >= 3]
    expect(len(words) >= 2, f"greedy text too short to pick a stop from: {full!r}")
    stop = words[1]
    expected = full[: full.index(stop)]
    r = client.completions.create(model=model, prompt=PROMPT, max_tokens=32, temperature=0, stop=[stop, "\u2603never"])
    expect(r.choices[0].text == expected, f"stop {stop!r}: got {r.choices[0].text!r}, want {expected!r}")
    expect(r.choices[0].finish_reason == "stop", f"finish_reason {r.choices[0].finish_reason!r}")
    chunks = list(client.completions.create(model=model, prompt=PROMPT, max_tokens=32, temperature=0, stop=stop, stream=True))
    streamed = "".join(ch.choices[0].text for ch in chunks if ch.choices)
    expect(streamed == expected, f"streamed with stop {stop!r}: got {streamed!r}, want {expected!r}")
    reasons = [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason]
    expect(reasons == ["stop"], f"streamed finish reasons {reasons}")


@check("seed reproducibility at temperature 0.8")
def seeds(client, model):
    def sample(seed):
        return client.chat.completions.create(model=model, messages=QUESTION, max_tokens=24, temperature=0.8,
                                              seed=seed).choices[0].message.content
    a, b = sample(1234), sample(1234)
    expect(a == b, f"same seed gave different text: {a!r} vs {b!r}")
    others = {sample(s) for s in (1, 2, 3)}
    if len(others | {a}) == 1:
        print("      note: four seeds gave the same text (possible for a peaked distribution)")


@check("bad request: openai.BadRequestError naming the parameter")
def bad_request(client, model):
    try:
        client.chat.completions.create(model=model, messages=QUESTION, temperature=5)
    except openai.BadRequestError as e:
        expect(e.status_code == 400, f"status {e.status_code}")
        expect("temperature" in str(e), f"message does not name temperature: {e}")
        return
    raise CheckFailed("temperature=5 was accepted")


@check("malformed JSON: 400 with OpenAI's error object")
def malformed(client, model):
    url = str(client.base_url).rstrip("/") + "/chat/completions"
    req = urllib.request.Request(url, data=b'{"model": "x", "messages": [', method="POST",
                                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {client.api_key}"})
    try:
        urllib.request.urlopen(req, timeout=30)
    except urllib.error.HTTPError as e:
        body = json.loads(e.read())
        expect(e.code == 400, f"status {e.code}")
        expect(set(body.get("error", {})) >= {"message", "type", "param", "code"}, f"error shape {body}")
        return
    raise CheckFailed("malformed JSON was accepted")


@check("unknown model: openai.NotFoundError")
def unknown_model(client, model):
    try:
        client.chat.completions.create(model=model + "-does-not-exist", messages=QUESTION, max_tokens=4)
    except openai.NotFoundError as e:
        expect("does not exist" in str(e) or "model" in str(e), f"message {e}")
        return
    raise CheckFailed("an unknown model was accepted")


@check("over the context: 400 context_length_exceeded")
def too_long(client, model):
    try:
        client.completions.create(model=model, prompt=PROMPT, max_tokens=10_000_000)
    except openai.BadRequestError as e:
        expect(getattr(e, "code", None) == "context_length_exceeded", f"code {getattr(e, 'code', None)!r}: {e}")
        return
    raise CheckFailed("max_tokens beyond the context was accepted")


@check("16 concurrent streaming requests: each equals the same request served alone")
def concurrent(client, model):
    from concurrent.futures import ThreadPoolExecutor
    prompts = ["The three primary colors are", "Once upon a time, in a small village,", "def fibonacci(n):",
               "The capital of France is", "Water boils at", "My favourite book is"]
    def params(i):
        p = dict(model=model, prompt=prompts[i % len(prompts)] + " and" * (i // len(prompts)), max_tokens=12 + i % 5)
        # greedy for most; seeded sampling for some (each request keeps its own random stream)
        return dict(p, temperature=0) if i % 4 else dict(p, temperature=0.8, seed=100 + i)
    def streamed(i):
        chunks = client.completions.create(stream=True, **params(i))
        return "".join(ch.choices[0].text for ch in chunks if ch.choices)
    with ThreadPoolExecutor(max_workers=16) as pool:
        together = list(pool.map(streamed, range(16)))
    alone = [client.completions.create(**params(i)).choices[0].text for i in range(16)]
    bad = [i for i in range(16) if together[i] != alone[i]]
    expect(not bad, f"requests {bad} differ when served together: {[(together[i], alone[i]) for i in bad][:2]}")
    expect(all(alone), "an empty completion")


@check("still serving after the bad requests")
def still_serving(client, model):
    r = client.completions.create(model=model, prompt=PROMPT, max_tokens=4, temperature=0)
    expect(r.choices[0].text, "empty text")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base-url", required=True, help="e.g. http://127.0.0.1:8000/v1")
    ap.add_argument("--model", required=True, help="the served model id")
    ap.add_argument("--api-key", default="none", help="bearer key, if the server requires one")
    ap.add_argument("--timeout", type=float, default=300, help="seconds per request")
    args = ap.parse_args()
    client = openai.OpenAI(base_url=args.base_url, api_key=args.api_key, timeout=args.timeout, max_retries=0)
    for fn in (models, completions, completion_logprobs, chat, streaming, stop_sequences, seeds, bad_request,
               malformed, unknown_model, too_long, concurrent, still_serving):
        fn(client, args.model)
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed: {', '.join(FAILURES)}")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
