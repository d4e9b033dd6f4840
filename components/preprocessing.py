"""Transform's preprocessing_fn: the model's features of the training triples
(model/features.py), the same graph the served model applies to raw questions."""
from model import features
from model.config import ModelConfig
from model.config import from_dict


def preprocessing_fn(inputs, custom_config):
  """TFT entry point. custom_config: {'model': ModelConfig as a dict}, plus a code
  fingerprint that only TFX's cache reads."""
  return features.transform(inputs, from_dict(ModelConfig, custom_config['model']))
