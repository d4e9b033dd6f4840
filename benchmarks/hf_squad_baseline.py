"""The standard Hugging Face extractive-QA recipe on our split (comparison environment only).

SQuAD-2 style: "[CLS] attribute [SEP] title [SEP]", a NULL value is an answer at [CLS];
BertForQuestionAnswering on the same checkpoint; AdamW, linear decay; prediction is the
best span (start <= end, inside the title, <= 16 tokens) unless the [CLS] null score is
higher. Writes one predicted value per eval line ('' = no value), in eval file order.

  .venv-comparison/bin/python benchmarks/hf_squad_baseline.py --checkpoint DIR \
      --train train.txt --eval eval.txt --output predictions.txt
"""
import argparse
import json
import time

import numpy as np
import torch
import transformers
from transformers import BertForQuestionAnswering, get_linear_schedule_with_warmup
try:
  from transformers import BertTokenizerFast
except ImportError:   # transformers 5: one tokenizer class, backed by the Rust tokenizers
  from transformers import BertTokenizer as BertTokenizerFast

SEP = '\u0001'


def read(path):
  with open(path, encoding='utf-8') as f:
    return [line.rstrip('\n').split(SEP) for line in f if line.strip()]


def encode(tokenizer, rows, max_length):
  enc = tokenizer([r[1] for r in rows], [r[0] for r in rows], truncation='only_second',
                  max_length=max_length, padding='max_length', return_offsets_mapping=True,
                  return_tensors='np')
  starts, ends = [], []
  for i, (title, _, value) in enumerate(rows):
    char_start = -1 if value == 'NULL' else title.find(value)
    if char_start < 0 and value != 'NULL':
      char_start = title.lower().find(value.lower())
    start = end = None
    if char_start >= 0:
      start = enc.char_to_token(i, char_start, sequence_index=1)
      end = enc.char_to_token(i, char_start + len(value) - 1, sequence_index=1)
    if start is None or end is None:   # NULL, not found, or cut off: the answer is [CLS]
      start = end = 0
    starts.append(start)
    ends.append(end)
  return enc, np.array(starts), np.array(ends)


def main():
  parser = argparse.ArgumentParser()
  for flag in ('--checkpoint', '--train', '--eval', '--output'):
    parser.add_argument(flag, required=True)
  parser.add_argument('--epochs', type=float, default=2)
  parser.add_argument('--batch-size', type=int, default=32)
  parser.add_argument('--learning-rate', type=float, default=5e-5)
  parser.add_argument('--max-length', type=int, default=64)
  parser.add_argument('--max-answer-tokens', type=int, default=16)
  parser.add_argument('--seed', type=int, default=0, help='QA head initialisation and batch order')
  parser.add_argument('--device', default='cpu', help="torch device: cpu (the comparison env's "
                      "build), or cuda where a GPU and a CUDA build of torch are")
  args = parser.parse_args()
  torch.manual_seed(args.seed)
  tokenizer = BertTokenizerFast.from_pretrained(args.checkpoint, local_files_only=True)
  model = BertForQuestionAnswering.from_pretrained(args.checkpoint, local_files_only=True).to(args.device)
  train, evaluation = read(args.train), read(args.eval)
  enc, starts, ends = encode(tokenizer, train, args.max_length)
  tensors = [torch.tensor(enc[k]) for k in ('input_ids', 'token_type_ids', 'attention_mask')]
  tensors += [torch.tensor(starts), torch.tensor(ends)]
  steps = int(np.ceil(len(train) / args.batch_size) * args.epochs)
  optimizer = torch.optim.AdamW(model.parameters(), lr=args.learning_rate)
  schedule = get_linear_schedule_with_warmup(optimizer, 0, steps)
  generator = torch.Generator().manual_seed(args.seed)
  model.train()
  began, step = time.time(), 0
  while step < steps:
    for batch in torch.randperm(len(train), generator=generator).split(args.batch_size):
      if step >= steps:
        break
      ids, types, mask, s, e = (t[batch].to(args.device) for t in tensors)
      loss = model(input_ids=ids, token_type_ids=types, attention_mask=mask,
                   start_positions=s, end_positions=e).loss
      loss.backward()
      optimizer.step()
      schedule.step()
      optimizer.zero_grad()
      step += 1
      if step % 100 == 0:
        print(f'step {step}/{steps} loss {loss.item():.3f} {time.time() - began:.0f}s', flush=True)
  train_seconds = time.time() - began

  model.eval()
  enc, _, _ = encode(tokenizer, [(t, a, 'NULL') for t, a, _ in evaluation], args.max_length)
  predictions = []
  with torch.no_grad():
    for lo in range(0, len(evaluation), 128):
      out = model(**{k: torch.tensor(enc[k][lo:lo + 128]).to(args.device)
                     for k in ('input_ids', 'token_type_ids', 'attention_mask')})
      for j, (start_logits, end_logits) in enumerate(zip(out.start_logits.cpu().numpy(),
                                                         out.end_logits.cpu().numpy())):
        i = lo + j
        context = np.array([s == 1 for s in enc.sequence_ids(i)])
        null_score = start_logits[0] + end_logits[0]
        best, span = -np.inf, None
        for s in np.argsort(start_logits)[::-1][:20]:
          if not context[s]:
            continue
          for e in range(s, min(s + args.max_answer_tokens, len(context))):
            if context[e] and start_logits[s] + end_logits[e] > best:
              best, span = start_logits[s] + end_logits[e], (s, e)
        if span is None or null_score > best:
          predictions.append('')
        else:
          offsets = enc['offset_mapping'][i]
          predictions.append(evaluation[i][0][offsets[span[0]][0]:offsets[span[1]][1]])
  with open(args.output, 'w', encoding='utf-8') as f:
    for p in predictions:
      f.write(json.dumps(p) + '\n')
  print(json.dumps({'train_seconds': round(train_seconds, 1), 'steps': steps, 'train_examples': len(train),
                    'device': torch.cuda.get_device_name() if args.device.startswith('cuda') else 'cpu',
                    'torch': torch.__version__, 'transformers': transformers.__version__}))


if __name__ == '__main__':
  main()
