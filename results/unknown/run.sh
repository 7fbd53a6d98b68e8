#!/bin/bash
# name dataset-args head
B=/work/bin/reponet-new
run() { RAYON_NUM_THREADS=1 $B -q train "${@:3}" --head $2 --holdout-classes 3 --seed 1 --epochs 2 --force --out /tmp/unknown/$1 > /tmp/unknown/$1.train.log 2>&1 && RAYON_NUM_THREADS=1 $B --json eval /tmp/unknown/$1 > /tmp/unknown/$1.eval.json 2>/tmp/unknown/$1.eval.log; echo "$1 $?"; }
run mnist-fixed fixed --data-dir /work/shared/data/mnist &
run mnist-learnable learnable --data-dir /work/shared/data/mnist &
wait
run fashion-fixed fixed --dataset fashion-mnist &
run fashion-learnable learnable --dataset fashion-mnist &
wait
