"""A tiny randomly initialised BERT checkpoint in Hugging Face layout, made on the fly.

Same files as a real checkpoint (config.json, vocab.txt, model.safetensors), so tests
exercise the real loader while staying fast.
"""
import json
import os
import re
import string

import numpy as np
from safetensors.numpy import save_file

SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']


def make_vocab(texts):
  words = sorted({w for t in texts for w in re.findall(r'\w+|[^\w\s]', t.lower())})
  chars = list(string.ascii_lowercase + string.digits)
  return SPECIALS + list(string.punctuation) + chars + ['##' + c for c in chars] + [
      w for w in words if w not in chars and w not in string.punctuation]


def make_checkpoint(path, texts=(), hidden=32, layers=2, heads=2, intermediate=64,
                    max_positions=128, seed=0, with_mlm_head=False, prefix=''):
  os.makedirs(path, exist_ok=True)
  vocab = make_vocab(texts)
  config = {'architectures': ['BertModel'], 'model_type': 'bert', 'vocab_size': len(vocab),
            'hidden_size': hidden, 'num_hidden_layers': layers, 'num_attention_heads': heads,
            'intermediate_size': intermediate, 'max_position_embeddings': max_positions,
            'type_vocab_size': 2, 'hidden_act': 'gelu', 'layer_norm_eps': 1e-12}
  rng = np.random.default_rng(seed)
  w = lambda *shape: (rng.standard_normal(shape) * 0.02).astype(np.float32)
  ones = lambda n: np.ones(n, np.float32)
  zeros = lambda n: np.zeros(n, np.float32)
  t = {'embeddings.word_embeddings.weight': w(len(vocab), hidden),
       'embeddings.position_embeddings.weight': w(max_positions, hidden),
       'embeddings.token_type_embeddings.weight': w(2, hidden),
       'embeddings.LayerNorm.weight': ones(hidden), 'embeddings.LayerNorm.bias': zeros(hidden),
       'pooler.dense.weight': w(hidden, hidden), 'pooler.dense.bias': zeros(hidden)}
  for i in range(layers):
    p = f'encoder.layer.{i}.'
    for name in ('attention.self.query', 'attention.self.key', 'attention.self.value',
                 'attention.output.dense'):
      t[p + name + '.weight'], t[p + name + '.bias'] = w(hidden, hidden), zeros(hidden)
    t[p + 'intermediate.dense.weight'], t[p + 'intermediate.dense.bias'] = w(intermediate, hidden), zeros(intermediate)
    t[p + 'output.dense.weight'], t[p + 'output.dense.bias'] = w(hidden, intermediate), zeros(hidden)
    for norm in ('attention.output.LayerNorm', 'output.LayerNorm'):
      t[f'{p}{norm}.weight'], t[f'{p}{norm}.bias'] = ones(hidden), zeros(hidden)
  if with_mlm_head:
    t.update({'cls.predictions.transform.dense.weight': w(hidden, hidden),
              'cls.predictions.transform.dense.bias': zeros(hidden),
              'cls.predictions.transform.LayerNorm.weight': ones(hidden),
              'cls.predictions.transform.LayerNorm.bias': zeros(hidden),
              'cls.predictions.bias': zeros(len(vocab))})
  save_file({prefix + k if not k.startswith('cls.') else k: v for k, v in t.items()},
            os.path.join(path, 'model.safetensors'))
  with open(os.path.join(path, 'config.json'), 'w') as f:
    json.dump(config, f)
  with open(os.path.join(path, 'vocab.txt'), 'w') as f:
    f.write('\n'.join(vocab) + '\n')
  return path
