#!/usr/bin/env bash
# Runs every benchmark at the sizes the issues name, one after another, writing bench/out/<name>.txt.
# Run it on an otherwise idle machine: `bash bench/run_all.sh [name ...]` (default: all of them).
set -uo pipefail
cd "$(dirname "$0")/.."
export PYSPARK_PYTHON="$PWD/.venv/bin/python"
py=.venv/bin/python
mkdir -p bench/out
declare -A cmd=(
  [codec]="bench/bench_codec.py --rows 1000000"
  [datasource]="bench/bench_datasource.py --rows 1000000"
  [handoff]="bench/bench_handoff.py --rows 1000000 --spark"
  [kmeans]="bench/bench_kmeans.py --rows 1000000 --dim 50 --k 10 --workers 2"
  [pca]="bench/bench_pca.py --rows 1000000 --dim 100 --components 10 --workers 2"
  [serving]="bench/bench_serving.py --duration 10"
  [linear_learner]="bench/bench_linear_learner.py --rows 1000000 --epochs 1"
  [linear_learner_3_epochs]="bench/bench_linear_learner.py --rows 1000000 --epochs 3"
  [collectives]="bench/bench_collectives.py"
  [factorization_machines]="bench/bench_factorization_machines.py --rows 1000000"
  [factorization_machines_large_batch]="bench/bench_factorization_machines.py --rows 1000000 --mini-batch-size 10000 --lr 0.02"
  [knn]="bench/bench_knn.py --rows 100000 --dim 64"
  [xgboost]="bench/bench_xgboost.py --rows 1000000"
  [randomcutforest]="bench/bench_randomcutforest.py --train-rows 100000 --score-rows 100000 --rrcf-points 50"
  [ipinsights]="bench/bench_ipinsights.py"
)
order=(codec datasource kmeans pca serving handoff collectives linear_learner linear_learner_3_epochs
       factorization_machines factorization_machines_large_batch xgboost knn randomcutforest ipinsights)
[ $# -gt 0 ] && order=("$@")
for name in "${order[@]}"; do
  echo "== $name: ${cmd[$name]}"
  start=$(date +%s)
  $py ${cmd[$name]} > "bench/out/$name.txt" 2>&1
  echo "   exit $? in $(( $(date +%s) - start ))s -> bench/out/$name.txt"
done
