"""The Trainer's settings, defaults included: the budget, the learning rates, and how the value
threshold and the rule for attributes never trained on are tuned (training/value_tuning.py).
The Trainer rebuilds them from its custom_config."""
import dataclasses
from typing import Optional

from model.config import DEFAULT_VALUE_THRESHOLD, setting


@dataclasses.dataclass
class TrainingConfig:
  train_steps: int = setting(150, 'training steps (ignored when --epochs is set)')
  epochs: Optional[float] = setting(None, 'passes over the train split; sets the steps from its size')
  batch_size: int = setting(16, 'training batch size (per replica)')
  learning_rate: float = setting(5e-5, 'Adam learning rate')
  tagger_learning_rate: float = setting(1e-3, "SUOpenTag's Adam learning rate (its LSTMs, attention and "
                                        'CRF start untrained)')
  warmup_fraction: float = setting(0.0, 'share of steps with linear warm-up, then linear decay '
                                   '(0 = constant)')
  eval_steps: Optional[int] = setting(None, 'batches of the eval split scored after training '
                                      '(default: all)')
  dev_fraction: float = setting(0.05, 'share of the train split held out to tune the value threshold '
                                '(0 = no tuning, use --value-threshold)')
  value_threshold: float = setting(DEFAULT_VALUE_THRESHOLD, 'p(value) = p(span)(1 - p(no answer)) '
                                   'below which the answer '
                                   'is "no value" (used as is only when --dev-fraction is 0)')
  pseudo_unseen_fraction: float = setting(0.1, 'share of the rare training attributes (see '
                                          '--pseudo-unseen-max-questions), drawn by a seeded hash, '
                                          'held out of training to tune the rule for attributes '
                                          'never trained on (0: no hold-out, the no-answer head '
                                          'decides them at 0.5)')
  pseudo_unseen_max_questions: int = setting(100, 'only attributes with at most this many training '
                                             'questions may be held out as pseudo-unseen')
  tpu: Optional[str] = setting(None, "TPU name for TPUClusterResolver ('' = local TPU)")
