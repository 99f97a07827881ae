#!/bin/sh
# How the way OpenMP threads wait for work changes illume's speed: the
# median time per pass of `illume bench MODEL --batch 1` for each MODEL given,
# under passive waiting, illume's default short spin and libgomp's own long
# spin; alone, and as two processes at once sharing the cores (a busy
# machine). Run from the repository root after the build.
# usage: bench/thread_waiting.sh MODEL.onnx... [--threads T]   (default T: all cores)
set -eu
threads=$(nproc)
models=""
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift 2 ;;
    *) models="$models $1"; shift ;;
  esac
done
[ -n "$models" ] || { echo "usage: bench/thread_waiting.sh MODEL.onnx... [--threads T]" >&2; exit 2; }
median() { sed -n 's/.*median \([0-9.]*\) ms.*/\1/p' | tr '\n' ' '; }
for setting in OMP_WAIT_POLICY=passive GOMP_SPINCOUNT=1000 GOMP_SPINCOUNT=300000; do
  for model in $models; do
    bench="build/illume bench $model --batch 1 --threads $threads --iterations 30"
    alone=$(env $setting $bench | median)
    shared=$( (env $setting $bench & env $setting $bench; wait) | median)
    echo "$setting $(basename "$model"): alone ${alone}ms, two at once ${shared}ms"
  done
done
