"""Every setting of the pipeline, in one typed place.

  PipelineConfig      where a run lives, the seed, the Beam args, and one section each for
    .data             what to read
    .split            how the triples are split into train and eval
    .model            the encoder and AVEQA's heads and losses
    .adaptation       the domain-adaptive masked-LM step before training
    .training         the Trainer's budget and the value threshold's tuning
    .inference        how bulk inference serves the blessed model
    .gate             when a model is blessed

`pipeline_runner.py` generates one flag per field (`add_flags`, `from_flags`); a budget
preset (`--budget`, BUDGETS) sets several training fields at once, and explicit flags win
over it. Transform and Trainer rebuild their sections from custom_config (`section_from_dict`).
No other module keeps a default of its own.

Like schemas/, this module is data that every layer reads: it imports no TensorFlow and
nothing of the project but two TensorFlow-free lists (serving precisions, split rules), so `--help`
is instant and the components can rebuild the config they were given.
"""
import argparse
import dataclasses
import os
import typing
from typing import Any, Dict, List, Optional, Tuple

from components.serving_contract import MODEL_TYPES, PRECISIONS, RUNTIMES, check_serving
from components.splits import RULES as SPLIT_RULES

# What a known catalog value the text does not hold gives (components/catalog_mining.py).
KNOWN_NOT_IN_TEXT = ('null', 'skip')

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE_TRIPLES = os.path.join(REPO_DIR, 'data', 'sample', 'triples', '*.txt')
SAMPLE_CATALOG = os.path.join(REPO_DIR, 'data', 'sample', 'catalog', '*.parquet')
# The attributes the AVEQA paper holds out of training for AE-zero-shot.
PAPER_ZERO_SHOT_ATTRIBUTES = ('Frame Color', 'Lenses Color', 'Shell Material', 'Wheel Material',
                              'Product Type')


def setting(default, help, flag=None, choices=None):
  """A dataclass field with the flag's help text (and name, when it differs)."""
  metadata = {'help': help, 'flag': flag, 'choices': choices}
  if isinstance(default, list):
    return dataclasses.field(default_factory=lambda: list(default), metadata=metadata)
  return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass
class DataConfig:
  """What to read. With neither --triples nor --catalog the embedded sample runs; with a
  catalog alone the pipeline learns from its known values and fills its attribute columns."""
  triples: Optional[str] = setting(None, "labelled triples, AE-pub format (local or gs://, file "
                                   "patterns allowed; '' for none); default: the embedded sample "
                                   "when no --catalog is given, else none: the catalog's known "
                                   "values are the training data")
  catalog: Optional[str] = setting(None, 'catalog Parquet file pattern to fill (default: the embedded '
                                   'sample, only when no --triples is given)')
  attributes: Tuple[str, ...] = setting((), "comma-separated target attributes (default: the catalog's "
                                        'attribute columns, every text column but product_id, title, '
                                        'description and the category; for the embedded sample '
                                        'schemas/target_attributes.txt)')
  category_column: str = setting('category', 'the column naming each row\'s category, used when the '
                                 "catalog has it: a row is asked only its category's attributes "
                                 "(components/categories.py; '' for none)")
  attribute_map: str = setting('', 'CSV of category,attribute: the attributes of each category '
                               "(default: learned from the catalog's known values)")
  min_category_share: float = setting(0.01, "an attribute applies to a category when at least this "
                                      "share of the category's rows (and two rows) know it")
  no_value_tokens: Tuple[str, ...] = setting(('n/a',), 'comma-separated cell texts (any case) that '
                                             'say a product has no such value: not asked, and "no '
                                             'value" examples for training')
  value_removed_negatives: bool = setting(True, 'each known value found in its text also gives a "no '
                                          'value" example: the text with the value removed '
                                          '(components/catalog_mining.py)')
  dedupe_triples: bool = setting(True, 'drop repeated identical triple lines')
  use_description: bool = setting(False, 'append the catalog description to the title')
  repredict_known: bool = setting(False, 'also predict attributes the catalog already has (auditing)')
  mine_known_values: bool = setting(True, "also train on triples mined from the values the catalog "
                                    "already knows (components/catalog_mining.py)")
  # skip by the numbers in docs/results.md: null wins 3 F1 points when every unstated value
  # is truly absent from the text, and loses 12 when 30% of them are respellings.
  known_not_in_text: str = setting('skip', 'a known value the text does not hold: no example (skip) '
                                   'or a "no value" example (null, for catalogs whose values are '
                                   'taken from their text)', choices=KNOWN_NOT_IN_TEXT)
  max_mined_per_attribute: int = setting(0, 'at most this many mined triples per attribute, so one '
                                         'frequent attribute does not drown the rest (0: all)')
  mined_weight: float = setting(1.0, "a mined triple's share in the training losses; a labelled "
                                "triple's is 1")
  reviewed: str = setting('', "filled-in review queues of earlier runs (Parquet or CSV, local or "
                          "gs://, file patterns allowed): each reviewed row is a labelled triple "
                          "(components/review_queue.py)")

  def __post_init__(self):
    if not self.mined_weight > 0:
      raise ValueError(f'mined_weight must be above 0 (--no-mine-known-values turns mining off), '
                       f'got {self.mined_weight}')
    if not 0 <= self.min_category_share <= 1:
      raise ValueError(f'min_category_share must be in [0, 1], got {self.min_category_share}')
    if self.triples is not None and self.catalog is None:
      raise ValueError('--triples needs --catalog, the catalog to fill: the embedded sample runs '
                       'only when neither is given')

  @property
  def is_sample(self) -> bool:
    return self.catalog is None and self.triples is None

  def triples_pattern(self) -> str:
    """The labelled triples read: --triples, the sample's, or '' (the catalog alone)."""
    if self.triples is not None:
      return self.triples
    return SAMPLE_TRIPLES if self.is_sample else ''

  def catalog_pattern(self) -> str:
    return SAMPLE_CATALOG if self.catalog is None else self.catalog

  def target_attributes(self) -> Tuple[str, ...]:
    """--attributes; the sample's list; or () for the catalog's attribute columns, which
    CatalogQuestionGen reads from the catalog itself."""
    if self.attributes:
      return tuple(self.attributes)
    if self.is_sample:
      import schemas
      return tuple(schemas.read_target_attributes())
    return ()


@dataclasses.dataclass
class SplitConfig:
  rule: str = setting('random', 'train/eval split of the triples', flag='split', choices=SPLIT_RULES)
  eval_percent: int = setting(20, 'share of the triples in the eval split (random, grouped)')
  held_out: Tuple[str, ...] = setting(PAPER_ZERO_SHOT_ATTRIBUTES,
                                      'attributes held out of training by --split zero_shot')


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
  """The domain-adaptive masked-LM step before the Trainer (components/domain_adaptation.py)."""
  steps: int = setting(100, "masked-LM steps on the train split's titles and the catalog's text "
                       'before training (0: skip; the checkpoint is used as it is)', flag='adapt-steps')
  batch_size: int = setting(32, 'masked-LM batch size', flag='adapt-batch-size')
  mask_rate: float = setting(0.15, 'share of tokens masked', flag='adapt-mask-rate')
  max_length: int = setting(64, 'tokens per text, [CLS] and [SEP] included', flag='adapt-max-length')
  learning_rate: float = setting(5e-5, 'AdamW learning rate', flag='adapt-learning-rate')


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
  value_threshold: float = setting(0.5, 'p(value) = p(span)(1 - p(no answer)) below which the answer '
                                   'is "no value" (used as is only when --dev-fraction is 0)')
  pseudo_unseen_fraction: float = setting(0.1, 'share of the rare training attributes (see '
                                          '--pseudo-unseen-max-questions), drawn by a seeded hash, '
                                          'held out of training to tune the rule for attributes '
                                          'never trained on (0: no hold-out, the no-answer head '
                                          'decides them at 0.5)')
  pseudo_unseen_max_questions: int = setting(100, 'only attributes with at most this many training '
                                             'questions may be held out as pseudo-unseen')
  tpu: Optional[str] = setting(None, "TPU name for TPUClusterResolver ('' = local TPU)")


@dataclasses.dataclass
class InferenceConfig:
  precision: str = setting('float32', 'serving precision of bulk inference, and of what the gate '
                           'and --eval-triples score (float32 runs anywhere; int8 is the x86 CPU '
                           'fast path, bfloat16 needs AVX512-BF16/AMX, GPUs or TPUs: docs/deployment.md)',
                           choices=PRECISIONS)
  runtime: str = setting('tensorflow', "what computes the encoder in bulk inference and the gate: "
                         "TensorFlow (every precision) or ONNX Runtime's fused CPU kernels (float32, "
                         "int8; docs/deployment.md)", choices=RUNTIMES)
  batch_size: int = setting(256, 'questions per bulk-inference batch', flag='inference-batch-size')
  bucket_size: int = setting(8192, 'questions sorted by length together before batching')
  review_size: int = setting(50, 'filled values per attribute, the least sure first, written to '
                             'the review queue beside the filled catalog (0: no queue)')
  # Added to the Beam args of the catalog steps (questions, inference, writer). Locally:
  # one process using every core (the runtime's own threads) rather than one process per
  # core, each holding a copy of the model and each starting by importing TensorFlow: on
  # 2 cores that start-up took longer than the steps' own work on 200 products (questions
  # 24 s -> 7 s, writer 28 s -> 10 s in one process, measured beside a training run). Ignored by Dataflow and other runners.
  beam_args: List[str] = setting(['--direct_running_mode=in_memory'], 'not a flag')

  def __post_init__(self):
    try:
      check_serving(self.runtime, self.precision)
    except ValueError as e:
      raise ValueError(f'--runtime {self.runtime} --precision {self.precision}: {e}') from None


@dataclasses.dataclass
class GateConfig:
  min_f1: float = setting(0.5, 'exact-match F1 on the eval split a model needs to be blessed')
  max_f1_drop: float = setting(0.01, 'how far below the last blessed model F1 may fall')
  batch_size: int = setting(64, 'questions per batch when the gate scores a model',
                            flag='gate-batch-size')


@dataclasses.dataclass
class PipelineConfig:
  name: str = setting('aveqa-catalog-enrichment', 'pipeline name (ML Metadata, Vertex)',
                      flag='pipeline-name')
  pipeline_root: str = setting(os.path.join(REPO_DIR, 'outputs', 'pipeline_root'),
                               'where artifacts are written (local or gs://)')
  metadata_path: str = setting(os.path.join(REPO_DIR, 'outputs', 'metadata.sqlite'),
                               'ML Metadata SQLite file (--local)')
  serving_model_dir: str = setting(os.path.join(REPO_DIR, 'outputs', 'serving_model'),
                                   "Pusher's destination")
  image: str = setting('REGION-docker.pkg.dev/PROJECT/REPO/aveqa:TAG',
                       'container image (Dockerfile) the Vertex/Kubeflow spec names')
  seed: int = setting(0, 'seed of the split, the new weights, masking, dropout and shuffling')
  # DirectRunner with one worker process per core; Dataflow flags (after --) replace
  # these. Every worker imports tensorflow_text first (--beam_plugins): the Transform
  # graph and the served model hold its tokenizer ops.
  beam_args: List[str] = setting(['--direct_running_mode=multi_processing', '--direct_num_workers=0',
                                  '--beam_plugins=tensorflow_text'], 'not a flag')
  data: DataConfig = dataclasses.field(default_factory=DataConfig)
  split: SplitConfig = dataclasses.field(default_factory=SplitConfig)
  model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
  adaptation: AdaptationConfig = dataclasses.field(default_factory=AdaptationConfig)
  training: TrainingConfig = dataclasses.field(default_factory=TrainingConfig)
  inference: InferenceConfig = dataclasses.field(default_factory=InferenceConfig)
  gate: GateConfig = dataclasses.field(default_factory=GateConfig)

  def __post_init__(self):
    try:
      check_serving(self.inference.runtime, self.inference.precision, self.model.model_type)
    except ValueError as e:
      raise ValueError(f'--model-type {self.model.model_type} --runtime {self.inference.runtime} '
                       f'--precision {self.inference.precision}: {e}') from None


SECTIONS = ('data', 'split', 'model', 'adaptation', 'training', 'inference', 'gate')

# Named training budgets: each sets these fields, explicit flags win over it.
#   sample  the embedded demo run (the default): 150 steps, a few minutes on 2 cores
#   smoke   a twentieth of an epoch: checks that a real data set runs end to end
#   cpu     the best F1 a 2-core machine reaches on AE-pub-21k in about an hour of training:
#           4 epochs gave 78.4 F1 on the random split where 2 gave 76.5 (docs/results.md)
#   accelerator  3 epochs at lr 1e-5 (the paper's learning rate), length 128: for a GPU or
#                TPU with a BERT-base checkpoint. Not the paper's budget, which trains far
#                longer than it states in epochs.
BUDGETS: Dict[str, Dict[str, Any]] = {
    'sample': {'training.train_steps': 150, 'training.epochs': None, 'training.batch_size': 16,
               'training.learning_rate': 5e-5, 'training.warmup_fraction': 0.0,
               'model.max_seq_length': 128, 'adaptation.steps': 100},
    'smoke': {'training.epochs': 0.05, 'training.batch_size': 16, 'training.learning_rate': 5e-5,
              'training.warmup_fraction': 0.1, 'model.max_seq_length': 64, 'adaptation.steps': 10},
    'cpu': {'training.epochs': 4, 'training.batch_size': 32, 'training.learning_rate': 5e-5,
            'training.warmup_fraction': 0.1, 'model.max_seq_length': 64, 'adaptation.steps': 600},
    'accelerator': {'training.epochs': 3, 'training.batch_size': 32, 'training.learning_rate': 1e-5,
              'training.warmup_fraction': 0.1, 'model.max_seq_length': 128, 'adaptation.steps': 3000},
}


def with_overrides(config: PipelineConfig, overrides: Dict[str, Any]) -> PipelineConfig:
  """A copy of config with 'field' or 'section.field' keys set (unknown keys are errors)."""
  top, sections = {}, {}
  for key, value in overrides.items():
    section, _, name = key.rpartition('.')
    if section and section not in SECTIONS:
      raise KeyError(f'no setting {key!r}')
    target = getattr(config, section) if section else config
    if name not in {f.name for f in dataclasses.fields(target)} or name in SECTIONS:
      raise KeyError(f'no setting {key!r}')
    if section:
      sections.setdefault(section, {})[name] = value
    else:
      top[name] = value
  replaced = {s: dataclasses.replace(getattr(config, s), **v) for s, v in sections.items()}
  return dataclasses.replace(config, **top, **replaced)


def with_budget(config: PipelineConfig, budget: str) -> PipelineConfig:
  if budget not in BUDGETS:
    raise KeyError(f'unknown budget {budget!r}; choose one of {", ".join(BUDGETS)}')
  return with_overrides(config, BUDGETS[budget])


def to_dict(section) -> Dict[str, Any]:
  """JSON-able dict of a section (what Transform's and Trainer's custom_config carry)."""
  return dataclasses.asdict(section)


def section_from_dict(section_type, values: Dict[str, Any]):
  """The section rebuilt from to_dict's output; fields it lacks keep their defaults."""
  names = {f.name for f in dataclasses.fields(section_type)}
  unknown = set(values) - names
  if unknown:
    raise KeyError(f'{section_type.__name__} has no settings {sorted(unknown)}')
  return section_type(**values)


# ---- flags ------------------------------------------------------------------------------

def _flag_fields():
  """(dotted key, flag name, field) for every field that is a flag."""
  root = [(f.name, f) for f in dataclasses.fields(PipelineConfig) if f.name not in SECTIONS]
  nested = [(f'{s}.{f.name}', f) for s in SECTIONS
            for f in dataclasses.fields(typing.get_type_hints(PipelineConfig)[s])]
  for key, field in root + nested:
    if field.metadata.get('help', 'not a flag') != 'not a flag':
      yield key, field.metadata.get('flag') or field.name.replace('_', '-'), field


def _parse_tuple(text):
  return tuple(item.strip() for item in text.split(',') if item.strip())


def _flag_type(annotation):
  """argparse type for a field's annotation (Optional[X] takes X)."""
  if typing.get_origin(annotation) is typing.Union:
    annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
  if typing.get_origin(annotation) in (tuple, Tuple):
    return _parse_tuple
  return annotation


def add_flags(parser: argparse.ArgumentParser):
  """One flag per setting, in a group per section, plus --budget."""
  defaults = PipelineConfig()
  parser.add_argument('--budget', choices=sorted(BUDGETS),
                      help='a named training budget (explicit flags win over it): ' + ', '.join(BUDGETS))
  groups = {}
  hints = {s: typing.get_type_hints(typing.get_type_hints(PipelineConfig)[s]) for s in SECTIONS}
  hints[''] = typing.get_type_hints(PipelineConfig)
  for key, flag, field in _flag_fields():
    section, _, name = key.rpartition('.')
    group = groups.setdefault(section, parser.add_argument_group(section or 'run'))
    default = getattr(getattr(defaults, section) if section else defaults, name)
    shown = ','.join(default) if isinstance(default, tuple) else default
    help_text = field.metadata['help'] + ('' if default is None else f' (default: {shown})')
    kwargs = dict(dest=key, default=argparse.SUPPRESS, help=help_text)
    annotation = hints[section][name]
    if annotation is bool:
      group.add_argument(f'--{flag}', action=argparse.BooleanOptionalAction, **kwargs)
    else:
      group.add_argument(f'--{flag}', type=_flag_type(annotation), choices=field.metadata.get('choices'),
                         metavar=name.upper() if not field.metadata.get('choices') else None, **kwargs)


def from_flags(args: argparse.Namespace, beam_args: Optional[List[str]] = None) -> PipelineConfig:
  """The config: defaults, then the budget preset, then every flag given, then Beam args."""
  config = PipelineConfig()
  if getattr(args, 'budget', None):
    config = with_budget(config, args.budget)
  given = {key: getattr(args, key) for key, _, _ in _flag_fields() if hasattr(args, key)}
  config = with_overrides(config, given)
  if beam_args:
    if not any(a.startswith('--beam_plugins') for a in beam_args):
      beam_args = beam_args + ['--beam_plugins=tensorflow_text']   # Dataflow workers need it too
    config = dataclasses.replace(config, beam_args=list(beam_args))
  return config
