"""The run's configuration, composed of the sections each layer owns (defaults included):

  PipelineConfig      where a run lives, the seed, the Beam args, and one section each for
    .data             what to read, categories, mining          catalog/config.py
    .fill             the catalog's spelling, precision targets catalog/config.py
    .split            how the triples are split                 catalog/config.py
    .model            the encoder and the heads and losses      model/config.py
    .adaptation       the masked-LM step before training        model/config.py
    .training         the Trainer's budget and tuning           training/config.py
    .inference        how bulk inference serves the model       serving/config.py
    .gate             when a model is blessed                   evaluation/config.py

`pipeline_runner.py` generates one flag per field (`add_flags`, `from_flags`); a budget
preset (`--budget`, BUDGETS) sets several fields at once, and explicit flags win over it;
an experiment (benchmarks/experiments.py) is a named set of overrides (`with_overrides`).
The components receive plain values or a section, which Transform and the Trainer rebuild
from custom_config (model/config.from_dict). The sections import no TensorFlow, so
`--help` is instant.
"""
import argparse
import dataclasses
import os
import typing
from typing import Any, Dict, List, Optional, Tuple

from catalog.config import REPO_DIR, DataConfig, FillConfig, SplitConfig
from evaluation.config import GateConfig
from model.config import AdaptationConfig, ModelConfig, from_dict, setting
from serving.config import InferenceConfig
from serving import serving_choice
from serving.contract import check_serving
from training.config import TrainingConfig


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
  fill: FillConfig = dataclasses.field(default_factory=FillConfig)
  split: SplitConfig = dataclasses.field(default_factory=SplitConfig)
  model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
  adaptation: AdaptationConfig = dataclasses.field(default_factory=AdaptationConfig)
  training: TrainingConfig = dataclasses.field(default_factory=TrainingConfig)
  inference: InferenceConfig = dataclasses.field(default_factory=InferenceConfig)
  gate: GateConfig = dataclasses.field(default_factory=GateConfig)

  def __post_init__(self):
    try:
      check_serving(*serving_choice.named_or_reference(self.inference.runtime, self.inference.precision),
                    self.model.model_type)
    except ValueError as e:
      raise ValueError(f'--model-type {self.model.model_type} --runtime {self.inference.runtime} '
                       f'--precision {self.inference.precision}: {e}') from None


SECTIONS = ('data', 'fill', 'split', 'model', 'adaptation', 'training', 'inference', 'gate')

# Named training budgets: each sets these fields, explicit flags win over it.
#   sample  the embedded demo run (the default): 150 steps, a few minutes on 2 cores
#   smoke   a twentieth of an epoch: checks that a real data set runs end to end
#   cpu     the best F1 a 2-core machine reaches on AE-pub-21k in about an hour of training:
#           4 epochs (docs/results.md has what each budget gave)
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


section_from_dict = from_dict   # the section rebuilt from to_dict's output


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


def given_flags(args: argparse.Namespace) -> Dict[str, Any]:
  """{'section.field': value} of the setting flags given on a command line (add_flags')."""
  return {key: getattr(args, key) for key, _, _ in _flag_fields() if hasattr(args, key)}


def from_flags(args: argparse.Namespace, beam_args: Optional[List[str]] = None) -> PipelineConfig:
  """The config: defaults, then the budget preset, then every flag given, then Beam args."""
  config = PipelineConfig()
  if getattr(args, 'budget', None):
    config = with_budget(config, args.budget)
  config = with_overrides(config, given_flags(args))
  if beam_args:
    if not any(a.startswith('--beam_plugins') for a in beam_args):
      beam_args = beam_args + ['--beam_plugins=tensorflow_text']   # Dataflow workers need it too
    config = dataclasses.replace(config, beam_args=list(beam_args))
  return config
