import json
import os
import shutil

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from model import checkpoint as checkpoints
from model.checkpoint import CheckpointError, read_checkpoint
from tests import tiny_bert


@pytest.fixture
def ckpt_dir(tmp_path):
  return tiny_bert.make_checkpoint(str(tmp_path / 'ckpt'), texts=['red cotton shirt'])


def _rewrite(path, change):
  weights = os.path.join(path, 'model.safetensors')
  tensors = load_file(weights)
  change(tensors)
  save_file(tensors, weights)


def test_valid_checkpoint_loads_with_its_weights(ckpt_dir):
  ckpt = read_checkpoint(ckpt_dir)
  assert ckpt.lower_case and not ckpt.mlm_head
  encoder = checkpoints.load_encoder(ckpt)
  expected = load_file(os.path.join(ckpt_dir, 'model.safetensors'))
  np.testing.assert_array_equal(encoder.token_embedding.embeddings.numpy(),
                                expected['embeddings.word_embeddings.weight'])
  np.testing.assert_array_equal(
      encoder.get_layer('transformer_layer_1')._feedforward_output_dense.kernel.numpy(),
      expected['encoder.layer.1.output.dense.weight'].T)


def test_bert_prefix_mlm_head_and_no_pooler(tmp_path):
  path = tiny_bert.make_checkpoint(str(tmp_path / 'mlm'), texts=['a b'], prefix='bert.',
                                   with_mlm_head=True)
  _rewrite(path, lambda t: [t.pop(k) for k in list(t) if 'pooler' in k])
  ckpt = read_checkpoint(path)
  assert ckpt.mlm_head
  checkpoints.load_encoder(ckpt)
  head = checkpoints.mlm_head_weights(ckpt)
  assert head['output_bias'].shape == (len(ckpt.vocab),)


def test_missing_tensor_is_named(ckpt_dir):
  _rewrite(ckpt_dir, lambda t: t.pop('encoder.layer.1.attention.self.key.weight'))
  with pytest.raises(CheckpointError, match=r'encoder\.layer\.1\.attention\.self\.key\.weight is missing'):
    read_checkpoint(ckpt_dir)


def test_shape_mismatch_is_named(ckpt_dir):
  def shrink(t):
    t['encoder.layer.0.intermediate.dense.weight'] = np.zeros((10, 32), np.float32)
  _rewrite(ckpt_dir, shrink)
  with pytest.raises(CheckpointError, match=r'intermediate\.dense\.weight has shape \(10, 32\).*\(64, 32\)'):
    read_checkpoint(ckpt_dir)


def test_vocab_size_must_match_embedding_rows(ckpt_dir):
  with open(os.path.join(ckpt_dir, 'vocab.txt'), 'a') as f:
    f.write('extra\n')
  with pytest.raises(CheckpointError, match='vocab.txt has .* tokens but the embedding matrix'):
    read_checkpoint(ckpt_dir)


def test_missing_and_damaged_files(ckpt_dir, tmp_path):
  broken = str(tmp_path / 'broken')
  shutil.copytree(ckpt_dir, broken)
  with open(os.path.join(broken, 'model.safetensors'), 'wb') as f:
    f.write(b'not a safetensors file')
  with pytest.raises(CheckpointError, match='cannot be read'):
    read_checkpoint(broken)
  os.remove(os.path.join(broken, 'config.json'))
  with pytest.raises(CheckpointError, match='config.json is missing'):
    read_checkpoint(broken)
  with pytest.raises(CheckpointError, match='does not exist'):
    read_checkpoint(str(tmp_path / 'nowhere'))
  with open(os.path.join(ckpt_dir, 'config.json'), 'w') as f:
    json.dump({'vocab_size': 3}, f)
  with pytest.raises(CheckpointError, match='lacks "hidden_size"'):
    read_checkpoint(ckpt_dir)


def test_default_is_the_packaged_minilm(monkeypatch):
  monkeypatch.delenv(checkpoints.CHECKPOINT_ENV, raising=False)
  ckpt = read_checkpoint()
  assert ckpt.config['hidden_size'] == 384 and len(ckpt.vocab) == 30522
  monkeypatch.setenv(checkpoints.CHECKPOINT_ENV, '/somewhere/else')
  assert checkpoints.default_checkpoint_dir() == '/somewhere/else'


def test_exact_gelu_as_bert_checkpoints_say(ckpt_dir):
  import tensorflow as tf
  encoder = checkpoints.load_encoder(read_checkpoint(ckpt_dir))
  dense = encoder.get_layer('transformer_layer_0')._feedforward_intermediate_dense
  x = tf.constant([-1.5, 0.7, 2.0])
  np.testing.assert_allclose(dense.activation(x).numpy(),
                             tf.nn.gelu(x, approximate=False).numpy(), rtol=1e-6)


def test_unknown_activation_is_an_error(ckpt_dir):
  with open(os.path.join(ckpt_dir, 'config.json')) as f:
    config = json.load(f)
  config['hidden_act'] = 'swish'
  with open(os.path.join(ckpt_dir, 'config.json'), 'w') as f:
    json.dump(config, f)
  with pytest.raises(CheckpointError, match='hidden_act "swish"'):
    checkpoints.load_encoder(read_checkpoint(ckpt_dir))


def test_tensorflow_bert_checkpoint_gives_the_same_encoder(ckpt_dir, tmp_path):
  import tensorflow as tf
  hf = load_file(os.path.join(ckpt_dir, 'model.safetensors'))
  names, tensors = [], []
  for name, value in hf.items():   # write them as Google's BERT release names them
    tf_name = 'bert/' + name.replace('encoder.layer.', 'encoder/layer_').replace('.', '/')
    tf_name = tf_name.replace('LayerNorm/weight', 'LayerNorm/gamma').replace('LayerNorm/bias', 'LayerNorm/beta')
    if tf_name.endswith('/weight'):
      is_embedding = tf_name.split('/')[-2].endswith('_embeddings')
      tf_name = tf_name[:-len('/weight')] + ('' if is_embedding else '/kernel')
      value = value if is_embedding else value.T
    names.append(tf_name)
    tensors.append(tf.constant(value))
  names.append('global_step')
  tensors.append(tf.constant(7, tf.int64))
  tf_dir = tmp_path / 'tf_bert'
  tf_dir.mkdir()
  tf.raw_ops.SaveV2(prefix=str(tf_dir / 'bert_model.ckpt'), tensor_names=names,
                    shape_and_slices=[''] * len(names), tensors=tensors)
  shutil.copy(os.path.join(ckpt_dir, 'config.json'), tf_dir / 'bert_config.json')
  shutil.copy(os.path.join(ckpt_dir, 'vocab.txt'), tf_dir / 'vocab.txt')

  inputs = {'token_ids': np.array([[2, 40, 41, 3]]), 'segment_ids': np.zeros((1, 4), 'int32'),
            'padding_mask': np.ones((1, 4), 'int32')}
  expected = checkpoints.load_encoder(read_checkpoint(ckpt_dir), dropout=0.0)(inputs)['sequence_output']
  converted = checkpoints.load_encoder(read_checkpoint(str(tf_dir)), dropout=0.0)(inputs)['sequence_output']
  np.testing.assert_allclose(converted.numpy(), expected.numpy(), atol=1e-6)
