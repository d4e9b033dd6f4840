"""The model's settings, defaults included: the extractor (AVEQA or SUOpenTag: encoder, heads,
losses, windows) and the masked-LM step that adapts the checkpoint before training. Plain
dataclasses without TensorFlow, so that the pipeline's flags (pipelines/configs.py) and a
notebook alike can build them; model/aveqa.py and model/suopentag.py turn ModelConfig into
their own config types.

setting() is the field every layer's settings use: a default with the flag's help text.
"""
import dataclasses
from typing import Any, Dict, Optional

MODEL_TYPES = ('aveqa', 'suopentag')
# A value is returned when p(value) reaches it, until the Trainer tunes it on dev data.
DEFAULT_VALUE_THRESHOLD = 0.5


def setting(default, help, flag=None, choices=None):
  """A dataclass field with the flag's help text (and name, when it differs)."""
  metadata = {'help': help, 'flag': flag, 'choices': choices}
  if isinstance(default, list):
    return dataclasses.field(default_factory=lambda: list(default), metadata=metadata)
  return dataclasses.field(default=default, metadata=metadata)


def from_dict(section_type, values: Dict[str, Any]):
  """A settings dataclass rebuilt from dataclasses.asdict's output (a component's
  custom_config); fields it lacks keep their defaults, unknown ones are an error."""
  names = {f.name for f in dataclasses.fields(section_type)}
  unknown = set(values) - names
  if unknown:
    raise KeyError(f'{section_type.__name__} has no settings {sorted(unknown)}')
  return section_type(**values)


@dataclasses.dataclass
class ModelConfig:
  model_type: str = setting('aveqa', 'the extractor: AVEQA (BERT question answering, multi-task) or '
                            "SUOpenTag (BiLSTM, cross-attention and CRF: the AVEQA paper's baseline; "
                            'docs/model.md)', choices=MODEL_TYPES)
  checkpoint: Optional[str] = setting(None, 'BERT checkpoint dir (config.json, vocab.txt, '
                                      'model.safetensors); default: $AVEQA_CHECKPOINT or the packaged '
                                      'MiniLM-L6')
  max_seq_length: int = setting(128, 'tokens per sequence: [CLS] title or a window of it [SEP] '
                                'attribute [SEP]')
  max_attribute_tokens: int = setting(16, 'tokens of the attribute name kept')
  alpha: float = setting(0.5, 'weight of the distilled MLM loss (0 = off)')
  beta: float = setting(0.5, 'weight of the no-answer loss (0 = off)')
  temperature: float = setting(2.0, 'softening of the teacher and student vocabulary distributions')
  mask_rate: float = setting(0.15, 'share of tokens masked for the distilled MLM')
  dropout: float = setting(0.1, 'dropout of the encoder (AVEQA) or before the tag scores (SUOpenTag)')
  top_k_begins: int = setting(5, 'begin candidates searched when decoding a span')
  max_answer_tokens: int = setting(16, 'longest value, in tokens')
  window_overlap: int = setting(16, 'title tokens shared by consecutive windows over a title too '
                                    'long for one sequence: a value of up to this + 1 tokens lies '
                                    'whole in some window')
  tagger_units: int = setting(192, "SUOpenTag's LSTM units per direction")

  def __post_init__(self):
    # Each window must move on by at least one title token, even beside the longest attribute.
    room = self.max_seq_length - 3 - self.max_attribute_tokens
    if room < 1:
      raise ValueError(f'max_seq_length {self.max_seq_length} leaves no room for the title beside '
                       f'{self.max_attribute_tokens} attribute tokens and 3 special tokens')
    if not 0 <= self.window_overlap < room:
      raise ValueError(f'window_overlap must be in [0, {room}) for max_seq_length {self.max_seq_length} '
                       f'and max_attribute_tokens {self.max_attribute_tokens}, got {self.window_overlap}')


@dataclasses.dataclass
class AdaptationConfig:
  """The domain-adaptive masked-LM step before the Trainer (training/domain_adaptation.py,
  model/masked_lm.py)."""
  steps: int = setting(100, "masked-LM steps on the train split's titles and the catalog's text "
                       'before training (0: skip; the checkpoint is used as it is)', flag='adapt-steps')
  batch_size: int = setting(32, 'masked-LM batch size', flag='adapt-batch-size')
  mask_rate: float = setting(0.15, 'share of tokens masked', flag='adapt-mask-rate')
  max_length: int = setting(64, 'tokens per text, [CLS] and [SEP] included', flag='adapt-max-length')
  learning_rate: float = setting(5e-5, 'AdamW learning rate', flag='adapt-learning-rate')
  dropout: float = setting(0.1, "the encoder's dropout while it adapts", flag='adapt-dropout')
