"""AVEQA's settings for model tests: the pipeline's defaults (pipelines/configs.py), as the
Trainer turns them into an AveqaConfig, with some ModelConfig fields overridden."""
from pipelines import configs


def aveqa_config(**model_overrides):
  from components.trainer import model_config
  return model_config(configs.ModelConfig(**model_overrides), configs.TrainingConfig())
