#!/usr/bin/env bash
# The GPU checks of docs/gpu.md in one short run (about 8 minutes on an H100/H200), for a
# machine with CuPy and a CUDA device: the GPU tests (with the whole step recorded as graphs),
# the kernels' bandwidth with the softmax sweep, and the epoch against PyTorch's settings.
#
#   bash bench/gpu_check.sh [OUT_DIR [PART ...]]   # parts: tests kernels epoch (default: all)
#
# OUT_DIR (default $OUT, else .) receives the logs and JSON. Each part has its own time limit
# (tests 180 s, kernels 60 s, epoch 330 s), so one that hangs does not cost the others; the
# summary at the end says how each ended. Within one 10-minute command all three fit; split
# them over two commands where less time is left. Run from the repository root.
set -uo pipefail
out=${1:-${OUT:-.}}
shift || true
parts=${*:-tests kernels epoch}
mkdir -p "$out"
export PYTHONPATH=.${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
py=${PYTHON:-python3}
status=()

part() {  # part NAME SECONDS COMMAND...: run it with a limit, its output to $out/NAME.log
    local name=$1 limit=$2
    shift 2
    [[ " $parts " == *" $name "* ]] || return 0
    echo "=== $name (at most ${limit}s): $*"
    timeout "$limit" "$@" 2>&1 | tee "$out/$name.log"
    local code=${PIPESTATUS[0]}
    status+=("$name: exit $code")
}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | tee "$out/gpu.txt"
# The GPU tests, the whole step recorded as graphs (their fits must equal eager ones bit for bit).
part tests 180 env XPNET_CUDA_GRAPH_WHOLE=1 "$py" -m pytest -q -m gpu tests -p no:cacheprovider
part kernels 60 "$py" bench/bench_gpu_kernels.py --softmax-sweep --json "$out/kernels.json"
# xpnet (graphs, dropout steps too), xpnet eager and PyTorch's four settings, with and without
# dropout, at batch 128, 1024 and 8192.
part epoch 330 env XPNET_CUDA_GRAPH_WHOLE=1 "$py" bench/bench_gpu_epoch.py --epochs 2 \
    --keep-prob 0.8 --json "$out/epoch.json"
printf '%s\n' "${status[@]}" | tee "$out/summary.txt"
