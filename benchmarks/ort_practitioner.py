"""What a performance-minded practitioner writes for CPU bulk QA inference: the checkpoint
as Hugging Face's BertForQuestionAnswering, exported by torch.onnx, fused by ONNX
Runtime's BERT optimizer, int8 dynamic quantization (per channel), then length-sorted
batches with argmax decoding. Tokenization (the fast tokenizer) is timed with the model.
--sort-by title (the default) sorts by the title's characters, as such scripts do;
--sort-by tokens by each question's token count, tokenising every question once more
first (timed).

Runs in the comparison environment only (benchmarks/install_comparison.sh). Reads
questions as JSON lines {"title", "attribute"} and prints one JSON line: questions,
seconds, questions_per_second, fused (the optimizer's fused operators), peak_rss_mb.

  .venv-comparison/bin/python benchmarks/ort_practitioner.py --checkpoint DIR \
      --questions questions.jsonl --batch-size 128
"""
import argparse
import json
import os
import resource
import tempfile
import time

import numpy as np


def export(checkpoint, folder):
  """The int8 ONNX graph of BertForQuestionAnswering (QA head untrained: a timing run)."""
  import torch
  from onnxruntime.quantization import QuantType, quantize_dynamic
  from onnxruntime.transformers.optimizer import optimize_model
  from transformers import AutoModelForQuestionAnswering
  from transformers.utils import logging
  logging.set_verbosity_error()
  model = AutoModelForQuestionAnswering.from_pretrained(checkpoint).eval()
  names = ['input_ids', 'attention_mask', 'token_type_ids']
  sample = {name: torch.ones(2, 16, dtype=torch.int64) for name in names}
  raw = os.path.join(folder, 'model.onnx')
  torch.onnx.export(model, (), raw, kwargs=sample, input_names=names, output_names=['start', 'end'],
                    dynamic_axes={n: {0: 'batch', 1: 'sequence'} for n in names + ['start', 'end']},
                    opset_version=17, dynamo=False)
  config = model.config
  optimized = optimize_model(raw, model_type='bert', num_heads=config.num_attention_heads,
                             hidden_size=config.hidden_size)
  fused = {k: v for k, v in optimized.get_fused_operator_statistics().items() if v}
  fused_path = os.path.join(folder, 'model_fused.onnx')
  optimized.save_model_to_file(fused_path)
  int8 = os.path.join(folder, 'model_int8.onnx')
  quantize_dynamic(fused_path, int8, per_channel=True, weight_type=QuantType.QInt8,
                   extra_options={'DefaultTensorType': 1})   # float: shape inference skips fused ops
  return int8, fused


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--checkpoint', required=True)
  parser.add_argument('--questions', required=True)
  parser.add_argument('--batch-size', type=int, default=128)
  parser.add_argument('--max-length', type=int, default=128)
  parser.add_argument('--sort-by', choices=('title', 'tokens'), default='title')
  args = parser.parse_args()
  import onnxruntime as ort
  from transformers import AutoTokenizer
  with open(args.questions, encoding='utf-8') as f:
    questions = [json.loads(line) for line in f]
  with tempfile.TemporaryDirectory() as folder:
    path, fused = export(args.checkpoint, folder)
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
  tokenizer = AutoTokenizer.from_pretrained(args.checkpoint)

  def answer(batch):
    encoded = tokenizer([q['attribute'] for q in batch], [q['title'] for q in batch], padding=True,
                        truncation='only_second', max_length=args.max_length, return_tensors='np')
    start, end = session.run(None, {k: encoded[k].astype(np.int64) for k in
                                    ('input_ids', 'attention_mask', 'token_type_ids')})
    context = encoded['token_type_ids'] == 1   # argmax over the title's tokens
    begin = np.where(context, start, -np.inf).argmax(-1)
    last = np.where(context & (np.arange(end.shape[1]) >= begin[:, None]), end, -np.inf).argmax(-1)
    return list(zip(begin, last))

  def tokens():
    encoded = tokenizer([q['attribute'] for q in questions], [q['title'] for q in questions],
                        truncation='only_second', max_length=args.max_length)
    return [len(ids) for ids in encoded['input_ids']]

  answer(questions[:args.batch_size])   # warm-up, as the other rows
  started = time.perf_counter()
  lengths = tokens() if args.sort_by == 'tokens' else [len(q['title']) for q in questions]
  order = sorted(range(len(questions)), key=lambda i: lengths[i])
  answers = []
  for first in range(0, len(order), args.batch_size):
    answers.extend(answer([questions[i] for i in order[first:first + args.batch_size]]))
  seconds = time.perf_counter() - started
  if len(answers) != len(questions):
    raise SystemExit(f'{len(answers)} answers for {len(questions)} questions')
  print(json.dumps({'questions': len(questions), 'seconds': seconds,
                    'questions_per_second': len(questions) / seconds,
                    'fused': ', '.join(f'{k} {v}' for k, v in fused.items()),
                    'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == '__main__':
  main()
