#!/usr/bin/env bash
# A separate environment with the CPU build of PyTorch and Hugging Face transformers 4.x,
# used only by the comparison scripts in benchmarks/ (never by the pipeline or tests).
# transformers 4.57.6: version 5 removed pipeline("question-answering"). onnx, onnxruntime
# and sympy: benchmarks/ort_practitioner.py (the same pins as requirements.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${COMPARISON_VENV:-.venv-comparison}
python3.11 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet torch==2.13.0 transformers==4.57.6 safetensors==0.8.0 numpy \
    onnx==1.23.2 onnxruntime==1.32.0 sympy==1.14.0
"$VENV/bin/python" -c "import torch, transformers; print('comparison env: torch', torch.__version__, 'transformers', transformers.__version__)"
