#!/usr/bin/env bash
# Spark resource discovery script (spark.executor.resource.gpu.discoveryScript): prints the GPUs
# this executor sees as {"name": "gpu", "addresses": ["0", ...]}. In a Kubernetes pod that asked
# for one nvidia.com/gpu the device plugin exposes exactly one, so the address is "0".
set -u
ids=$( (nvidia-smi --query-gpu=index --format=csv,noheader 2>/dev/null || true) | tr -d ' ' | paste -sd, - | sed 's/,/","/g')
if [ -z "$ids" ]; then
  echo '{"name": "gpu", "addresses": []}'
else
  echo "{\"name\": \"gpu\", \"addresses\": [\"$ids\"]}"
fi
