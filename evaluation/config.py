"""The gate's settings, defaults included: when a model is blessed (evaluation/gate.py), and
what fills the catalog when it is not (serving/model_choice.py)."""
import dataclasses

from model.config import setting


@dataclasses.dataclass
class GateConfig:
  min_f1: float = setting(0.5, 'exact-match F1 on the eval split a model needs to be blessed')
  max_f1_drop: float = setting(0.01, 'how far below the last blessed model F1 may fall; a larger drop '
                               'refuses the model only when it is beyond noise (see --confidence-level)')
  confidence_level: float = setting(0.95, 'level of the paired-bootstrap interval of the F1 difference '
                                    'from the last blessed model: a drop refuses only when the whole '
                                    'interval is below zero')
  batch_size: int = setting(64, 'questions per batch when the gate scores a model',
                            flag='gate-batch-size')
  fill_only_when_blessed: bool = setting(False, 'when the gate refuses the new model, fill nothing '
                                         '(default: the model being served, the newest blessed one, '
                                         'fills the catalog, and the run exits with 3)')

  def __post_init__(self):
    if not 0 < self.confidence_level < 1:
      raise ValueError(f'confidence_level must be in (0, 1), got {self.confidence_level}')
