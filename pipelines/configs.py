"""Every setting of the pipeline, in one typed place (the runner's flags fill it)."""
import dataclasses
import os
from typing import List, Optional, Tuple

import schemas
from components import splits

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE_TRIPLES = os.path.join(REPO_DIR, 'data', 'sample', 'triples', '*.txt')
SAMPLE_CATALOG = os.path.join(REPO_DIR, 'data', 'sample', 'catalog', '*.parquet')


@dataclasses.dataclass
class PipelineConfig:
  pipeline_name: str = 'aveqa-catalog-enrichment'
  pipeline_root: str = os.path.join(REPO_DIR, 'outputs', 'pipeline_root')
  metadata_path: str = os.path.join(REPO_DIR, 'outputs', 'metadata.sqlite')
  serving_model_dir: str = os.path.join(REPO_DIR, 'outputs', 'serving_model')
  # Data (local paths or gs://; file patterns allowed).
  triples: str = SAMPLE_TRIPLES
  catalog: str = SAMPLE_CATALOG
  target_attributes: Tuple[str, ...] = ()     # empty: schemas/target_attributes.txt
  dedupe_triples: bool = True                 # drop repeated identical lines
  use_description: bool = False
  repredict_known: bool = False
  # Split.
  split_rule: str = 'random'
  seed: int = 0
  eval_percent: int = 20
  held_out_attributes: Tuple[str, ...] = splits.PAPER_ZERO_SHOT_ATTRIBUTES
  # Model and training.
  checkpoint: Optional[str] = None            # None: the packaged MiniLM-L6 (model/checkpoint.py)
  max_seq_length: int = 128
  train_steps: int = 150
  batch_size: int = 16
  learning_rate: float = 5e-5
  warmup_fraction: float = 0.0
  alpha: float = 0.5
  beta: float = 0.5
  value_threshold: float = 0.5                # used as is only when dev_fraction = 0
  dev_fraction: float = 0.05                  # train split held out to tune that threshold
  tpu: Optional[str] = None
  # Bulk inference: the served precision (the gate scores the same), batch size, and
  # how many questions are sorted by length together before batching.
  # float32 runs anywhere (CPU, GPU, TPU, ARM); int8 is the fast path on x86 CPUs (README).
  inference_precision: str = 'float32'
  inference_batch_size: int = 256
  bucket_size: int = 8192
  # Added to the Beam args of the inference step only. Locally: one TF process using
  # every core (TF's own threads) rather than one process per core each holding a copy
  # of the model: measured 170 questions/s and 2.3 GB peak RSS vs 148 and 2.9 GB with one
  # worker process, 125-157 questions/s with two (10k questions, bfloat16; measured before
  # the batch-size fix in components/catalog_inferrer.py, not repeated since).
  # Ignored by Dataflow and other runners.
  inference_beam_pipeline_args: List[str] = dataclasses.field(
      default_factory=lambda: ['--direct_running_mode=in_memory'])
  # Gate.
  min_f1: float = 0.5
  max_f1_drop: float = 0.01
  # Beam: DirectRunner with one worker process per core by default; Dataflow flags pass
  # straight through. Every worker imports tensorflow_text first (--beam_plugins): the
  # Transform graph and the served model hold its tokenizer ops.
  beam_pipeline_args: List[str] = dataclasses.field(default_factory=lambda: [
      '--direct_running_mode=multi_processing', '--direct_num_workers=0',
      '--beam_plugins=tensorflow_text'])

  def attributes(self) -> List[str]:
    if self.target_attributes:
      return list(self.target_attributes)
    from components.catalog_questions import read_target_attributes
    return read_target_attributes(schemas.TARGET_ATTRIBUTES_FILE)

  def hparams(self) -> dict:
    from model.checkpoint import default_checkpoint_dir
    return {'checkpoint': self.checkpoint or default_checkpoint_dir(),
            'max_seq_length': self.max_seq_length, 'batch_size': self.batch_size,
            'learning_rate': self.learning_rate, 'warmup_fraction': self.warmup_fraction, 'alpha': self.alpha, 'beta': self.beta,
            'value_threshold': self.value_threshold,
            'dev_fraction': self.dev_fraction, 'tpu': self.tpu, 'seed': self.seed}
