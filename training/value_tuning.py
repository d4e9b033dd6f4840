"""Decisions tuned on the train split, never on the eval split: the rule for attributes never
trained on, chosen on pseudo-unseen attributes (rare training attributes held out of the
first part of training for it: choose_pseudo_unseen, choose_unseen_rule; the Trainer then
trains on them too, so the served model knows every attribute it has data for); after
training, which attributes the model was trained on and the value threshold that is best
on the dev slice held out of the train split."""
import hashlib
import json
import logging
import os

import tensorflow as tf

from model import features as p
from training import data as training_data
from serving.contract import TUNING_FILE
from model import value_threshold

log = logging.getLogger(__name__)


def span_texts(features, begins, ends):
  """The text of each question's predicted span [begin, end] (title token indices), from the
  passed-through title and its tokens' byte offsets; '' where the title has no token."""
  titles = tf.reshape(features[p.TITLE_TEXT], [-1]).numpy()
  starts = tf.RaggedTensor.from_sparse(features[p.TITLE_TOKEN_STARTS]).to_list()
  stops = tf.RaggedTensor.from_sparse(features[p.TITLE_TOKEN_ENDS]).to_list()
  return [title[s[b]:e[last]].decode('utf-8', errors='replace') if b < len(s) and last < len(e) else ''
          for title, s, e, b, last in zip(titles, starts, stops, begins, ends)]


def _answers(model, questions):
  """{value_prob, no_answer_prob, attribute_seen, predicted, gold}: lists over batches of
  Transform's features, on whole questions (every window of a long title read); predicted:
  the best span's text; gold: the value, None for "no value"."""
  predict = tf.function(model.predict_questions, reduce_retracing=True)
  out = {k: [] for k in ('value_prob', 'no_answer_prob', 'attribute_seen', 'predicted', 'gold')}
  for features in questions:
    answers = predict(*training_data.question_tokens(features))
    for k in ('value_prob', 'no_answer_prob', 'attribute_seen'):
      out[k].extend(answers[k].numpy())
    out['predicted'].extend(span_texts(features, answers['begin'].numpy(), answers['end'].numpy()))
    status = tf.reshape(features[p.SPAN_STATUS], [-1]).numpy()
    values = tf.reshape(features[p.VALUE_TEXT], [-1]).numpy()
    out['gold'].extend(None if s == p.NULL else v.decode('utf-8') for s, v in zip(status, values))
  return out


def tune_value_threshold(model, dev):
  """Sets model.config.value_threshold to the dev slice's exact-match optimum. Returns the
  sweep (threshold, counts, F1 per row) and the chosen threshold."""
  a = _answers(model, dev)
  score = value_threshold.decision_score(a['value_prob'], a['no_answer_prob'], a['attribute_seen'],
                                         model.config.unseen_kind, model.config.unseen_threshold)
  rows = value_threshold.sweep_values(score.numpy(), a['predicted'], a['gold'])
  chosen = value_threshold.best_threshold(rows, model.config.value_threshold)
  model.config.value_threshold = chosen
  return {'dev_examples': len(a['gold']), 'threshold': chosen, 'sweep': rows}


def tune_unseen_rule(model, questions):
  """Sets model.config.unseen_kind and unseen_threshold to the exact-match optimum on
  questions of attributes the model was not trained on. Returns the rule and its sweeps."""
  a = _answers(model, questions)
  kind, threshold, sweeps = value_threshold.best_unseen_rule(
      a['value_prob'], a['no_answer_prob'], a['predicted'], a['gold'])
  model.config.unseen_kind, model.config.unseen_threshold = kind, threshold
  return {'questions': len(a['gold']), 'kind': kind, 'threshold': threshold, 'sweeps': sweeps}


# Fewer held-out questions than this, and a rule chosen on them is noise; more than this
# share of the train split, and holding them out costs the model too much.
MIN_PSEUDO_UNSEEN_QUESTIONS = 50
MAX_PSEUDO_UNSEEN_SHARE = 0.05


def choose_pseudo_unseen(counts, fraction, max_questions, seed):
  """The attribute keys to hold out of training as pseudo-unseen: of those with at most
  max_questions questions (counts: {key: questions}), the fraction a seeded hash draws,
  like the rare attributes a catalog brings later. Empty when they would hold too few
  questions to choose a rule on, or too large a share of the train split.
  Returns (keys, why: a line for the log)."""
  bucket = lambda key: int(hashlib.sha256(f'{seed}:{key}'.encode()).hexdigest()[:8], 16) % 10000
  keys = {k for k, n in counts.items() if n <= max_questions and bucket(k) < round(fraction * 10000)}
  questions, total = sum(counts[k] for k in keys), sum(counts.values())
  if fraction <= 0:
    return set(), 'no pseudo-unseen attributes (--pseudo-unseen-fraction 0)'
  if questions < MIN_PSEUDO_UNSEEN_QUESTIONS:
    return set(), (f'no pseudo-unseen attributes: the draw holds {questions} questions, fewer than '
                   f'{MIN_PSEUDO_UNSEEN_QUESTIONS}')
  if questions > MAX_PSEUDO_UNSEEN_SHARE * total:
    return set(), (f'no pseudo-unseen attributes: the draw holds {questions} of {total} questions, '
                   f'more than {MAX_PSEUDO_UNSEEN_SHARE:.0%}')
  return keys, (f'{len(keys)} of {len(counts)} attributes ({questions} of {total} questions) held out '
                f'of training as pseudo-unseen, to choose the rule for attributes never trained on')


def trained_attribute_keys(model, train):
  """The attribute keys (AveqaModel.attribute_keys) of every question trained on."""
  keys = set()
  for inputs in train:
    keys.update(model.attribute_keys(inputs).numpy())
  return keys


def choose_unseen_rule(model, train_files, data_accessor, tft_output, batch_size, pseudo_unseen):
  """The rule for attributes never trained on, chosen on the pseudo_unseen attributes'
  questions while the model has not been trained on them (the Trainer trains on them
  afterwards); None when there are none."""
  if not pseudo_unseen:
    return None
  unseen = tune_unseen_rule(model, training_data.attribute_dataset(
      train_files, data_accessor, tft_output, batch_size, pseudo_unseen))
  unseen['attributes'] = len(pseudo_unseen)
  log.info('attributes never trained on: a value when %s >= %s, the best exact-match F1 on %d '
           'questions of %d pseudo-unseen attributes', value_threshold.UNSEEN_SCORE_NAMES[unseen['kind']],
           unseen['threshold'], unseen['questions'], unseen['attributes'])
  return unseen


def settle_decisions(model, train_files, data_accessor, tft_output, batch_size, dev_fraction,
                     tuning_dir=None, unseen=None, not_trained=frozenset()):
  """After training: the model remembers the attributes it was trained on (every attribute
  of the train split outside the dev slice) and, when tuning_dir is given, takes the value
  threshold that is best on the dev slice (when one was held out). The rule for other
  attributes (unseen: choose_unseen_rule's, None when not tuned) and the threshold are
  written to tuning_dir/TUNING_FILE. not_trained: attribute keys a model trained before
  the Trainer's last pass existed never learnt (its pseudo-unseen ones). Returns that
  tuning, or None."""
  model.remember_attributes(trained_attribute_keys(model, training_data.trainable_dataset(
      train_files, data_accessor, tft_output, model.layout, batch_size, False, None, dev_fraction,
      not_trained)))
  log.info('%d attributes trained on', model.seen_attributes.size().numpy())
  if tuning_dir is None or (dev_fraction <= 0 and not unseen):
    return None
  if not unseen:
    log.info('attributes never trained on: a value when %s >= %s (not tuned)',
             value_threshold.UNSEEN_SCORE_NAMES[model.config.unseen_kind], model.config.unseen_threshold)
  if dev_fraction > 0:
    tuning = tune_value_threshold(model, training_data.dev_dataset(
        train_files, data_accessor, tft_output, batch_size, dev_fraction))
    log.info('value threshold %s: the best exact-match F1 on %d dev examples held out of the '
             'train split', tuning['threshold'], tuning['dev_examples'])
  else:
    tuning = {'dev_examples': 0, 'threshold': model.config.value_threshold, 'sweep': []}
  tuning['unseen_rule'] = unseen or {'questions': 0, 'kind': model.config.unseen_kind,
                                     'threshold': model.config.unseen_threshold}
  tf.io.gfile.makedirs(tuning_dir)
  with tf.io.gfile.GFile(os.path.join(tuning_dir, TUNING_FILE), 'w') as f:
    json.dump(tuning, f, indent=1)
  return tuning
