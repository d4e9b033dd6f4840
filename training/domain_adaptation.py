"""DomainAdaptation: the checkpoint's masked-LM training continued on the pipeline's own
text before the Trainer (model/masked_lm.py), so that AVEQA's distilled MLM
distils a language model of this catalog's words.

Text it trains on: the titles of the train split (TriplesExampleGen) and the text of the
catalog to be enriched (its accepted rows: title, plus description with --use-description).
Unlabelled catalog text is fair to use; eval-split text is not. It measures the teacher
before and after, masked-token top-1/top-5 accuracy and perplexity on the eval split's
titles, the same masks for both: on those it did not train on (a title of a random split
can hold a train triple too) when there are at least MIN_HELD_OUT, else on all of them,
and the summary says which.

Output: a Model artifact holding the adapted checkpoint (Hugging Face layout, head
included) in Format-Serving/, where TFX's Trainer finds a base model (fn_args.base_model),
and adaptation.json beside it. The student starts from it and the frozen teacher is it.
Tokenization is unchanged: adaptation keeps the vocabulary, so Transform reads the
original checkpoint.
"""
import json
import logging
import os
import tempfile
import time

import keras
import tensorflow as tf

from catalog import questions as cq
from catalog import files, splits, triples
from model.config import AdaptationConfig
from model.features import tokenizer_for

log = logging.getLogger(__name__)

CHECKPOINT_DIR = 'Format-Serving'   # where TFX's Trainer looks for its base model
SUMMARY_FILE = 'adaptation.json'
MIN_HELD_OUT = 20


def texts(examples_uri: str, catalog_rows_uri, use_description: bool):
  """(training texts, eval titles to measure on, counts): train titles and catalog text,
  de-duplicated; the eval titles not among them, or all eval titles if too few are not."""
  train = {title for title, _, _ in triples.read_split(examples_uri, splits.TRAIN)}
  catalog = set()
  if catalog_rows_uri:
    for path in sorted(tf.io.gfile.glob(os.path.join(catalog_rows_uri, 'accepted', '*.parquet'))):
      for row in files.read_columns(path, [cq.TITLE, cq.DESCRIPTION]).to_pylist():
        catalog.add(cq.context_of(row, use_description))
  training = sorted(train | catalog)
  evaluation = {title for title, _, _ in triples.read_split(examples_uri, splits.EVAL)}
  held_out = evaluation - set(training)
  measured = held_out if len(held_out) >= MIN_HELD_OUT else evaluation
  return training, sorted(measured), {
      'train_titles': len(train), 'catalog_texts': len(catalog),
      'measured_on': ('eval titles not trained on' if measured is held_out else
                      f'eval titles ({len(evaluation) - len(held_out)} of them also trained on)')}


def teacher_metrics(checkpoint, token_ids, mask_rate, max_length, seed):
  """The measure of the teacher AVEQA would build from this checkpoint: its MLM head when it
  has one, else the tied word embeddings."""
  from model import checkpoint as checkpoints
  from model.aveqa import VocabularyProjection
  from model.masked_lm import measure
  encoder = checkpoints.load_encoder(checkpoint, dropout=0.0, name='teacher')
  projection = VocabularyProjection(keras.ops.convert_to_numpy(encoder.token_embedding.embeddings),
                                    checkpoints.mlm_head_weights(checkpoint))
  metrics = measure(encoder, projection, token_ids, checkpoint.special_ids, mask_rate, max_length, seed)
  metrics['projection'] = 'MLM head' if checkpoint.mlm_head else 'tied word embeddings'
  return metrics


def adapt_checkpoint(examples_uri, catalog_rows_uri, output_uri, checkpoint_dir, settings: AdaptationConfig,
                     seed, use_description):
  """Trains, writes the checkpoint and adaptation.json under output_uri; returns the summary."""
  steps, batch_size, mask_rate, max_length, learning_rate = (
      settings.steps, settings.batch_size, settings.mask_rate, settings.max_length, settings.learning_rate)
  from model import checkpoint as checkpoints
  from model import masked_lm
  keras.utils.set_random_seed(seed)
  source = checkpoints.read_checkpoint(checkpoint_dir)
  training, held_out, counts = texts(examples_uri, catalog_rows_uri, use_description)
  tokenizer = tokenizer_for(source)
  training_ids, held_out_ids = (tokenizer.tokenize(tf.constant(t)).to_list() if t else []
                                for t in (training, held_out))
  summary = {'checkpoint': checkpoint_dir, 'steps': steps, 'batch_size': batch_size, 'mask_rate': mask_rate,
             'dropout': settings.dropout,
             'max_length': max_length, 'learning_rate': learning_rate, 'texts': len(training), **counts,
             'eval_titles_measured': len(held_out)}
  if held_out_ids:
    summary['teacher_before'] = teacher_metrics(source, held_out_ids, mask_rate, max_length, seed)
  model = masked_lm.build(source, mask_rate, settings.dropout)
  log.info('domain adaptation: %d steps of masked-LM on %d texts (%d train titles, %d catalog texts)',
           steps, len(training), counts['train_titles'], counts['catalog_texts'])
  losses = masked_lm.adapt(model, training_ids, steps, batch_size, max_length, learning_rate, seed,
                           callbacks=[_Progress(steps)])
  summary['mlm_loss'] = [round(float(x), 4) for x in losses]
  # Written locally, then copied: safetensors writes a local file (output_uri may be gs://).
  with tempfile.TemporaryDirectory(prefix='aveqa-adapted-') as local:
    masked_lm.save(model, source, local)
    target = os.path.join(output_uri, CHECKPOINT_DIR)
    tf.io.gfile.makedirs(target)
    for name in os.listdir(local):
      tf.io.gfile.copy(os.path.join(local, name), os.path.join(target, name), overwrite=True)
    if held_out_ids:
      summary['teacher_after'] = teacher_metrics(checkpoints.read_checkpoint(local), held_out_ids,
                                                 mask_rate, max_length, seed)
  with tf.io.gfile.GFile(os.path.join(output_uri, SUMMARY_FILE), 'w') as f:
    json.dump(summary, f, indent=2)
  for line in summary_lines(summary):
    log.info('%s', line)
  return summary


class _Progress(keras.callbacks.Callback):
  """A log line per chunk of steps (model/masked_lm.adapt's Keras epochs), as the Trainer's."""

  def __init__(self, steps):
    super().__init__()
    self.steps, self.started = steps, time.time()

  def on_epoch_end(self, epoch, logs=None):
    log.info('masked-LM step %d/%d: loss %.3f (%.0f s)', min((epoch + 1) * self.params['steps'], self.steps),
             self.steps, (logs or {}).get('mlm_loss', float('nan')), time.time() - self.started)


def read_summary(checkpoint_dir: str):
  """adaptation.json of an adapted checkpoint's artifact (None for any other checkpoint)."""
  folder, name = os.path.split(checkpoint_dir.rstrip('/'))
  return files.read_json(folder, SUMMARY_FILE) if name == CHECKPOINT_DIR else None


def summary_lines(summary):
  lines = [f"masked-LM loss {summary['mlm_loss'][0]:.3f} -> {summary['mlm_loss'][-1]:.3f} "
           f"over {summary['steps']} steps"]
  for when in ('before', 'after'):
    m = summary.get(f'teacher_{when}')
    if m:
      lines.append(f"teacher {when} ({m['projection']}), {summary['eval_titles_measured']} "
                   f"{summary['measured_on']}, "
                   f"{m['masked_tokens']} masked tokens: top-1 {m['top1_accuracy']:.3f}, "
                   f"top-5 {m['top5_accuracy']:.3f}, perplexity {m['perplexity']:.1f}")
  return lines
