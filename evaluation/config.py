"""The gate's settings, defaults included: when a model is blessed (evaluation/gate.py)."""
import dataclasses

from model.config import setting


@dataclasses.dataclass
class GateConfig:
  min_f1: float = setting(0.5, 'exact-match F1 on the eval split a model needs to be blessed')
  max_f1_drop: float = setting(0.01, 'how far below the last blessed model F1 may fall')
  batch_size: int = setting(64, 'questions per batch when the gate scores a model',
                            flag='gate-batch-size')
