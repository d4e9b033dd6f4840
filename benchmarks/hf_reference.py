"""Hugging Face BertModel on the same inputs (runs in the comparison environment only)."""
import argparse

import numpy as np
import torch
from transformers import BertModel

parser = argparse.ArgumentParser()
parser.add_argument('--checkpoint', required=True)
parser.add_argument('--inputs', required=True)
parser.add_argument('--output', required=True)
args = parser.parse_args()

inputs = np.load(args.inputs)
model = BertModel.from_pretrained(args.checkpoint, local_files_only=True).eval()
with torch.no_grad():
  hidden = model(input_ids=torch.from_numpy(inputs['token_ids'].astype(np.int64)),
                 token_type_ids=torch.from_numpy(inputs['segment_ids'].astype(np.int64)),
                 attention_mask=torch.from_numpy(inputs['padding_mask'].astype(np.int64))).last_hidden_state
np.save(args.output, hidden.numpy())
