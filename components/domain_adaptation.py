"""DomainAdaptation: the checkpoint's masked-LM training continued on the run's own text before
the Trainer (training/domain_adaptation.py does the work). Its Model artifact holds the
adapted checkpoint in Format-Serving/, where TFX's Trainer finds a base model."""
from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import standard_artifacts

from components.artifacts import CatalogRows
from model.config import AdaptationConfig
from training import domain_adaptation


@component
def DomainAdaptation(
    examples: InputArtifact[standard_artifacts.Examples],
    adapted_checkpoint: OutputArtifact[standard_artifacts.Model],
    checkpoint: Parameter[str],
    steps: Parameter[int],
    batch_size: Parameter[int],
    mask_rate: Parameter[float],
    max_length: Parameter[int],
    learning_rate: Parameter[float],
    dropout: Parameter[float],
    seed: Parameter[int],
    use_description: Parameter[int],
    code_fingerprint: Parameter[str],
    catalog_rows: InputArtifact[CatalogRows] = None,
):
  """The checkpoint after `steps` of masked-LM on the train split's titles and the catalog's
  text. code_fingerprint: only TFX's cache reads it."""
  settings = AdaptationConfig(steps, batch_size, mask_rate, max_length, learning_rate, dropout)
  domain_adaptation.adapt_checkpoint(
      examples.uri, catalog_rows.uri if catalog_rows is not None else None, adapted_checkpoint.uri,
      checkpoint, settings, seed, bool(use_description))
