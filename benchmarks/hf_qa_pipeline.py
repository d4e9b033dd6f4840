"""The obvious alternative for bulk inference: Hugging Face pipeline("question-answering").

Runs in the comparison environment only (benchmarks/install_comparison.sh: CPU PyTorch,
transformers 4.x). Reads questions as JSON lines {"title", "attribute"}, answers them
all with the pipeline (attribute as question, title as context, no-answer allowed), and
prints one JSON line: questions, seconds, questions_per_second, peak_rss_mb.

  .venv-comparison/bin/python benchmarks/hf_qa_pipeline.py --checkpoint DIR \
      --questions questions.jsonl --batch-size 128
"""
import argparse
import json
import resource
import time

import torch
from transformers import AutoModelForQuestionAnswering, AutoTokenizer, pipeline
from transformers.utils import logging


def main():
  parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument('--checkpoint', required=True, help='HF BERT folder (a QA head is added if absent)')
  parser.add_argument('--questions', required=True)
  parser.add_argument('--batch-size', type=int, default=128)
  parser.add_argument('--max-length', type=int, default=128)
  parser.add_argument('--threads', type=int, default=0, help='torch threads (0: its default)')
  args = parser.parse_args()
  if args.threads:
    torch.set_num_threads(args.threads)
  logging.set_verbosity_error()   # "some weights newly initialized": expected for a timing run
  with open(args.questions, encoding='utf-8') as f:
    questions = [json.loads(line) for line in f]
  qa = pipeline('question-answering', model=AutoModelForQuestionAnswering.from_pretrained(args.checkpoint),
                tokenizer=AutoTokenizer.from_pretrained(args.checkpoint), device=-1)
  warm = questions[:args.batch_size]
  qa(question=[q['attribute'] for q in warm], context=[q['title'] for q in warm], batch_size=args.batch_size,
     handle_impossible_answer=True, max_seq_len=args.max_length)
  started = time.perf_counter()
  answers = qa(question=[q['attribute'] for q in questions], context=[q['title'] for q in questions],
               batch_size=args.batch_size, handle_impossible_answer=True, max_seq_len=args.max_length)
  seconds = time.perf_counter() - started
  if len(answers) != len(questions):
    raise SystemExit(f'{len(answers)} answers for {len(questions)} questions')
  print(json.dumps({'questions': len(questions), 'seconds': seconds,
                    'questions_per_second': len(questions) / seconds,
                    'torch_threads': torch.get_num_threads(),
                    'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == '__main__':
  main()
