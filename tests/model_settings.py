"""AVEQA's settings for model tests, from model/ alone: the model's defaults
(model/config.py ModelConfig) with some fields overridden."""
from model.aveqa import AveqaConfig
from model.config import ModelConfig


def aveqa_config(**model_overrides):
  return AveqaConfig.from_settings(ModelConfig(**model_overrides))
