"""Domain-adaptive masked-LM training of a BERT checkpoint, and the measure of a
masked-LM teacher.

AVEQA's distilled MLM keeps the trained encoder close to a frozen masked language model.
A checkpoint trained for sentence embeddings (the packaged MiniLM) has no masked-LM head,
so before the Trainer this step continues BERT's masked-LM training on the pipeline's own
text, encoder and head together: the student starts from the result and the frozen teacher
is the result.

The head is BERT's: dense + GELU + LayerNorm, then a decoder tied to the word embeddings
with its own bias. It starts from the checkpoint's head when it has one, else fresh. The
adapted checkpoint is written in the Hugging Face layout with the head (cls.predictions.*),
so model/checkpoint.py reads it like any other, and AVEQA's vocabulary projection uses
its head.
"""
import math
import os
import shutil
from typing import Dict, List, Sequence

import keras
import numpy as np
import tensorflow as tf

from model import checkpoint as checkpoints
from model.masking import mask_tokens

HEAD_PREFIX = 'cls.predictions.'


class MaskedLmHead(keras.layers.Layer):
  """BERT's prediction head. The decoder is the encoder's word-embedding matrix (tied),
  passed to each call rather than held, so that it stays one variable of the encoder."""

  def __init__(self, vocab_size, hidden, head=None, layer_norm_epsilon=1e-12, **kwargs):
    super().__init__(**kwargs)
    init = keras.initializers.TruncatedNormal(stddev=0.02)
    self.dense = keras.layers.Dense(hidden, activation='gelu', kernel_initializer=init, name='transform')
    self.norm = keras.layers.LayerNormalization(epsilon=layer_norm_epsilon, name='norm')
    self.dense.build((None, hidden))
    self.norm.build((None, hidden))
    self.bias = self.add_weight(shape=(vocab_size,), initializer='zeros', name='output_bias')
    if head is not None:
      self.dense.set_weights([head['dense_kernel'], head['dense_bias']])
      self.norm.set_weights([head['norm_gamma'], head['norm_beta']])
      self.bias.assign(head['output_bias'])

  def call(self, hidden, word_embeddings):
    transformed = self.norm(self.dense(tf.cast(hidden, tf.float32)))
    return tf.matmul(transformed, word_embeddings, transpose_b=True) + self.bias

  def weights_by_name(self) -> Dict[str, np.ndarray]:
    """The head in Hugging Face names (LayerNorm as weight/bias; the tied decoder is implied)."""
    kernel, bias = self.dense.get_weights()
    gamma, beta = self.norm.get_weights()
    return {HEAD_PREFIX + 'transform.dense.weight': kernel.T, HEAD_PREFIX + 'transform.dense.bias': bias,
            HEAD_PREFIX + 'transform.LayerNorm.weight': gamma, HEAD_PREFIX + 'transform.LayerNorm.bias': beta,
            HEAD_PREFIX + 'bias': keras.ops.convert_to_numpy(self.bias)}


class MaskedLm(keras.Model):
  """Encoder + head trained on BERT's masked-LM loss at the masked positions."""

  def __init__(self, encoder, head, special_ids, mask_rate, **kwargs):
    super().__init__(**kwargs)
    self.encoder, self.head = encoder, head
    self.special_ids, self.mask_rate = dict(special_ids), mask_rate
    self.loss_tracker = keras.metrics.Mean(name='mlm_loss')

  def masked_logits(self, inputs, training, seed=None):
    """(logits [N, V] at the N masked positions, their original ids [N])."""
    ids = inputs['token_ids']
    masked, chosen = mask_tokens(ids, inputs['padding_mask'], self.special_ids, self.mask_rate,
                                 self.head.bias.shape[0], seed)
    hidden = self.encoder(dict(inputs, token_ids=masked), training=training)['sequence_output']
    return self.vocabulary_logits(tf.boolean_mask(hidden, chosen)), tf.boolean_mask(ids, chosen)

  def vocabulary_logits(self, hidden):
    return self.head(hidden, self.encoder.token_embedding.embeddings)

  def train_step(self, data):
    with tf.GradientTape() as tape:
      logits, labels = self.masked_logits(data, training=True)
      loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(tf.cast(labels, tf.int32), logits))
    variables = self.trainable_variables
    self.optimizer.apply(tape.gradient(loss, variables), variables)
    self.loss_tracker.update_state(loss)
    return {'mlm_loss': self.loss_tracker.result()}

  @property
  def metrics(self):
    return [self.loss_tracker]


def build(checkpoint: checkpoints.Checkpoint, mask_rate: float, dropout: float) -> MaskedLm:
  encoder = checkpoints.load_encoder(checkpoint, dropout=dropout, name='encoder')
  encoder.get_layer('pooled_dense').trainable = False   # no next-sentence objective here
  head = MaskedLmHead(checkpoint.config['vocab_size'], checkpoint.config['hidden_size'],
                      checkpoints.mlm_head_weights(checkpoint), checkpoint.config.get('layer_norm_eps', 1e-12),
                      name='mlm_head')
  return MaskedLm(encoder, head, checkpoint.special_ids, mask_rate, name='masked_lm')


def sequences(token_ids: Sequence[Sequence[int]], special_ids, max_length: int) -> tf.data.Dataset:
  """[CLS] text [SEP] per text, the text cut to max_length - 2 tokens, as encoder inputs."""
  cls, sep = special_ids['cls'], special_ids['sep']
  rows = [[cls] + list(ids[:max_length - 2]) + [sep] for ids in token_ids if len(ids)]
  if not rows:
    raise ValueError('no text to train the masked language model on')
  ragged = tf.ragged.constant(rows, dtype=tf.int32)
  return tf.data.Dataset.from_tensor_slices(ragged).map(lambda ids: {
      'token_ids': ids, 'segment_ids': tf.zeros_like(ids), 'padding_mask': tf.ones_like(ids)})


def batches(dataset: tf.data.Dataset, batch_size: int, pad_id: int) -> tf.data.Dataset:
  return dataset.padded_batch(batch_size, padding_values={'token_ids': pad_id, 'segment_ids': 0,
                                                          'padding_mask': 0})


def adapt(model: MaskedLm, token_ids, steps: int, batch_size: int, max_length: int,
          learning_rate: float, seed: int, callbacks=()) -> List[float]:
  """Trains the model on `steps` batches of the texts (shuffled, repeated), in Keras epochs
  of a chunk of steps (at most 100; 5 chunks when steps allow); returns each chunk's mean
  loss. A step count that the chunk does not divide is rounded up to whole chunks."""
  data = sequences(token_ids, model.special_ids, max_length)
  data = batches(data.shuffle(10_000, seed=seed).repeat(), batch_size, model.special_ids['pad'])
  optimizer = keras.optimizers.AdamW(learning_rate, weight_decay=0.01)
  optimizer.exclude_from_weight_decay(var_names=['bias', 'gamma', 'beta'])   # as BERT's pre-training
  model.compile(optimizer=optimizer)
  chunk = max(1, min(100, steps // 5))
  history = model.fit(data.prefetch(tf.data.AUTOTUNE), epochs=math.ceil(steps / chunk),
                      steps_per_epoch=chunk, verbose=0, callbacks=list(callbacks))
  return history.history['mlm_loss']


def measure(encoder, projection, token_ids, special_ids, mask_rate: float, max_length: int,
            seed: int = 0, batch_size: int = 64) -> Dict[str, float]:
  """How good a masked-LM teacher is: top-1 and top-5 accuracy and perplexity at masked
  positions of the texts, masked as the distilled MLM masks (mask_rate, 80/10/10), with a
  fixed seed so that every teacher sees the same masks. projection: hidden -> vocabulary
  logits (aveqa.VocabularyProjection, or MaskedLm.vocabulary_logits)."""
  data = batches(sequences(token_ids, special_ids, max_length), batch_size, special_ids['pad'])
  vocab_size = int(encoder.token_embedding.embeddings.shape[0])
  tokens = top1 = top5 = 0
  cross_entropy = 0.0
  for step, batch in enumerate(data):
    masked, chosen = mask_tokens(batch['token_ids'], batch['padding_mask'], special_ids, mask_rate,
                                 vocab_size, seed=[seed, step])
    hidden = encoder(dict(batch, token_ids=masked), training=False)['sequence_output']
    logits = projection(tf.boolean_mask(hidden, chosen))
    labels = tf.cast(tf.boolean_mask(batch['token_ids'], chosen), tf.int32)
    tokens += int(tf.size(labels))
    top1 += int(tf.reduce_sum(tf.cast(tf.nn.in_top_k(labels, logits, 1), tf.int32)))
    top5 += int(tf.reduce_sum(tf.cast(tf.nn.in_top_k(labels, logits, 5), tf.int32)))
    cross_entropy += float(tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)))
  if not tokens:
    raise ValueError('no token was masked: too few texts to measure')
  return {'masked_tokens': tokens, 'top1_accuracy': top1 / tokens, 'top5_accuracy': top5 / tokens,
          'perplexity': math.exp(cross_entropy / tokens)}


class _Recorder:
  """Stands in for keras-hub's checkpoint loader to learn which Hugging Face tensor fills
  which encoder variable, and how (its transpose/reshape hook)."""

  def __init__(self, shapes):
    self.shapes, self.ports = shapes, []

  def get_tensor(self, key):
    if key not in self.shapes:
      raise KeyError(key)
    return np.zeros(self.shapes[key], np.float32)

  def port_weight(self, keras_variable, hf_weight_key, hook_fn=None):
    self.ports.append((keras_variable, hf_weight_key, hook_fn))


def encoder_tensors(encoder, checkpoint: checkpoints.Checkpoint) -> Dict[str, np.ndarray]:
  """The encoder's weights as Hugging Face tensors, by inverting the port that loaded
  them: each hook only transposes and reshapes, so running it on the tensor's element
  indices says where each element went."""
  from keras_hub.src.utils.transformers import convert_bert
  from safetensors import safe_open
  with safe_open(os.path.join(checkpoint.path, checkpoints.WEIGHTS_FILE), 'np') as f:
    shapes = {(k[len('bert.'):] if k.startswith('bert.') else k): tuple(f.get_slice(k).get_shape())
              for k in f.keys()}
  recorder = _Recorder(shapes)
  convert_bert.convert_weights(encoder, recorder, checkpoint.config)
  tensors = {}
  for variable, key, hook in recorder.ports:
    if key.startswith('pooler.') and not checkpoint.pooler:
      continue
    shape = shapes[key]
    index = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    placed = np.asarray(hook(index, list(variable.shape)) if hook else index).ravel()
    if not np.array_equal(np.sort(placed), np.arange(placed.size)):
      raise ValueError(f'the port of {key} is not a transpose/reshape: cannot invert it')
    flat = np.empty(placed.size, np.float32)
    flat[placed] = keras.ops.convert_to_numpy(variable).astype(np.float32).ravel()
    tensors[key] = flat.reshape(shape)
  return tensors


def save(model: MaskedLm, source: checkpoints.Checkpoint, output_dir: str):
  """The adapted encoder and head as a Hugging Face checkpoint (config.json, vocab.txt,
  model.safetensors, and tokenizer_config.json when the source has one)."""
  from safetensors.numpy import save_file
  os.makedirs(output_dir, exist_ok=True)
  tensors = encoder_tensors(model.encoder, source)
  tensors.update(model.head.weights_by_name())
  save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()},
            os.path.join(output_dir, checkpoints.WEIGHTS_FILE))
  for name in ('config.json', 'vocab.txt', 'tokenizer_config.json'):
    if os.path.exists(os.path.join(source.path, name)):
      shutil.copy(os.path.join(source.path, name), os.path.join(output_dir, name))
