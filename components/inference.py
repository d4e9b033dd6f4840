"""Running an exported AVEQA SavedModel on raw questions, outside Beam's RunInference.

Used by the exact-match evaluator and the offline evaluation scripts. Questions are
sorted by title length before batching, so each batch is padded only to its own
longest row, then the results are put back in input order.
"""
import os
from typing import Dict, List, Sequence

import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401  (the serving graph holds tensorflow-text ops)

from components.serving_contract import OUTPUTS, signature_names



def serving_dir(model_uri: str) -> str:
  """The SavedModel folder inside a TFX Model artifact (or the folder itself)."""
  tfx_layout = os.path.join(model_uri, 'Format-Serving')
  return tfx_layout if tf.io.gfile.exists(tfx_layout) else model_uri


def load(model_uri: str):
  return tf.saved_model.load(serving_dir(model_uri))


def predict(model, titles: Sequence[str], attributes: Sequence[str],
            batch_size: int, precision: str) -> Dict[str, np.ndarray]:
  """Column arrays of the model's predictions for each (title, attribute), in input order.
  precision: which of the model's signatures computes (components/serving_contract.py)."""
  predict_raw = model.signatures[signature_names(precision)[1]]
  order = np.argsort([len(t) for t in titles], kind='stable')
  outputs = [k for k in OUTPUTS if k in predict_raw.structured_outputs]   # older exports lack some
  columns: Dict[str, List[np.ndarray]] = {k: [] for k in outputs}
  for start in range(0, len(order), batch_size):
    rows = order[start:start + batch_size]
    out = predict_raw(title=tf.constant([titles[i] for i in rows]),
                      attribute=tf.constant([attributes[i] for i in rows]))
    for key in outputs:
      columns[key].append(out[key].numpy())
  result = {}
  for key, parts in columns.items():
    values = np.concatenate(parts) if parts else np.array([])
    restored = np.empty_like(values)
    restored[order] = values
    result[key] = restored
  for key in ('value', 'span_text'):
    result[key] = np.array([v.decode('utf-8', errors='replace') for v in result[key]], dtype=object)
  return result
