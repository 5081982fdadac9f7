# Sourced by gemd.sh and scripts/test.sh: the build environment of every cargo command of gemd.
# Cargo's build cache lives outside the clone so a new clone (or CI) reuses the llama.cpp build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/gemd/target}"
# gemd is built on the machine that runs it, so it may use every instruction that CPU has
# (measured +33% prompt speed for llama.cpp). Serve and test share these flags, hence one build.
export RUSTFLAGS="${RUSTFLAGS:--C target-cpu=native}"
mkdir -p "$CARGO_TARGET_DIR"

# llama.cpp's build options come from .cargo/config.toml's [env]. llama-cpp-sys-2 rebuilds
# llama.cpp when one of them changes, but only for options it saw set before: a cache built
# before they existed would keep the old kernels. Record them, and rebuild llama.cpp once
# whenever the recorded ones differ.
ggml_flags="$(grep -E '^GGML_' "$(dirname "${BASH_SOURCE[0]}")/../.cargo/config.toml" | tr -d ' ')"
ggml_stamp="$CARGO_TARGET_DIR/.gemd-ggml-flags"
if [ -d "$CARGO_TARGET_DIR/release" ] && [ "$(cat "$ggml_stamp" 2>/dev/null)" != "$ggml_flags" ]; then
  echo "llama.cpp build options changed: rebuilding llama.cpp once"
  cargo clean --release -p llama-cpp-sys-2 >/dev/null 2>&1 || true
fi
# Written only when it changes, and atomically: a second cargo command sourcing this file at
# the same moment must never read a half-written stamp (that would clean llama.cpp again).
if [ "$(cat "$ggml_stamp" 2>/dev/null)" != "$ggml_flags" ]; then
  printf '%s\n' "$ggml_flags" > "$ggml_stamp.$$" && mv -f "$ggml_stamp.$$" "$ggml_stamp"
fi
