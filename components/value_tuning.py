"""After training: which attributes the model was trained on, and the value threshold
that is best on the dev slice held out of the train split (never the eval split)."""
import json
import logging
import os

import tensorflow as tf

from components import preprocessing as p
from components import training_data
from components.serving_contract import TUNING_FILE
from model import value_threshold

log = logging.getLogger(__name__)


def tune_value_threshold(model, dev):
  """Sets model.config.value_threshold to the dev slice's exact-match optimum, on whole
  questions (every window of a long title read). Returns the sweep (threshold, counts, F1
  per row) and the chosen threshold."""
  predict = tf.function(model.predict_questions, reduce_retracing=True)
  probs, predicted, gold, has_value = [], [], [], []
  for features in dev:
    answers = predict(*training_data.question_tokens(features))
    probs.extend(value_threshold.decision_score(
        answers['value_prob'], answers['no_answer_prob'], answers['attribute_seen']).numpy())
    predicted.extend(zip(answers['begin'].numpy(), answers['end'].numpy()))
    status = tf.reshape(features[p.SPAN_STATUS], [-1]).numpy()
    # A gold value the title does not hold (or too long to train on) cannot be matched.
    gold.extend((b, e) if s == p.ALIGNED else ('unmatchable', s) for b, e, s in zip(
        tf.reshape(features[p.VALUE_FIRST_TOKEN], [-1]).numpy(),
        tf.reshape(features[p.VALUE_LAST_TOKEN], [-1]).numpy(), status))
    has_value.extend(status != p.NULL)
  rows = value_threshold.sweep(probs, predicted, gold, has_value)
  chosen = value_threshold.best_threshold(rows, model.config.value_threshold)
  model.config.value_threshold = chosen
  return {'dev_examples': len(probs), 'threshold': chosen, 'sweep': rows}


def trained_attribute_keys(model, train):
  """The attribute keys (AveqaModel.attribute_keys) of every question trained on."""
  keys = set()
  for inputs in train:
    keys.update(model.attribute_keys(inputs).numpy())
  return keys


def settle_decisions(model, train_files, data_accessor, tft_output, batch_size, dev_fraction,
                     tuning_dir=None):
  """After training: the model remembers the attributes it was trained on and, when a dev
  slice was held out and tuning_dir is given, takes the value threshold that is best
  there (written to tuning_dir/TUNING_FILE). Returns that tuning, or None."""
  model.remember_attributes(trained_attribute_keys(model, training_data.trainable_dataset(
      train_files, data_accessor, tft_output, model.layout, batch_size, False, None, dev_fraction)))
  log.info('%d attributes trained on; any other is decided by the no-answer head alone',
           model.seen_attributes.size().numpy())
  if dev_fraction <= 0 or tuning_dir is None:
    return None
  tuning = tune_value_threshold(model, training_data.dev_dataset(
      train_files, data_accessor, tft_output, batch_size, dev_fraction))
  log.info('value threshold %s: the best exact-match F1 on %d dev examples held out of the '
           'train split', tuning['threshold'], tuning['dev_examples'])
  tf.io.gfile.makedirs(tuning_dir)
  with tf.io.gfile.GFile(os.path.join(tuning_dir, TUNING_FILE), 'w') as f:
    json.dump(tuning, f, indent=1)
  return tuning
