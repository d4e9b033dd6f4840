"""The AVEQA model (Wang et al., KDD 2020): attribute value extraction as QA, multi-task.

One shared BERT encoder reads "[CLS] title [SEP] attribute [SEP]" and feeds three heads:

  begin      p(b) = softmax_i(w_b . H_i) over context tokens
  end        p(e | b) = softmax_{i >= b}(f_e(concat(H_i, H_b)))
  no-answer  p(no value) = softmax(W_na . H_[CLS])

and, during training only, a distilled masked-LM task against a frozen copy of the
pretrained encoder (the teacher), which keeps the encoder close to its pretrained
language knowledge and so helps on attributes never seen in training.

  L = L_QA + alpha * L_DMLM + beta * L_NA

Choices the paper leaves open (see docs/model.md):
- f_e is w_e . LayerNorm(tanh(W_c concat(H_i, H_b))) (as XLNet's conditioned end head).
  With a purely linear f_e the H_b term is the same for every i and cancels in the
  softmax, so the end distribution would not depend on the begin token at all.
- L_QA is skipped for no-answer examples (they are the no-answer head's job).
- L_DMLM is KL(teacher || student) of the T-softened vocabulary distributions at the
  masked positions: -sum p_t log p_s minus the (constant) teacher entropy, so it has the
  gradient of the cross-entropy with the teacher as the target, not of the other
  direction -sum p_s log p_t (docs/model.md), and is 0 when student = teacher.
- The vocabulary projection W_o is the checkpoint's MLM head when it has one, else
  the frozen pretrained word-embedding matrix (tied decoder, no transform).
- alpha = 0 builds no teacher and runs no masked pass; beta = 0 drops the NA loss
  (the head still exists so serving has one signature; it is then untrained and
  inference ignores it) and is the standard BERT QA of SQuAD 2.0 instead: a question
  without a value is trained as the span [CLS]..[CLS], and "no value" is decided from
  the null answer's probability against the best span's (predict_spans).
"""
import dataclasses

import keras
import tensorflow as tf

from model import decoding, masking, value_threshold
from model.config import DEFAULT_VALUE_THRESHOLD, ModelConfig
from model.extraction import QuestionModel


@dataclasses.dataclass
class AveqaConfig:
  """What the network and its decisions need (from_settings: of ModelConfig, whose defaults
  are the model's)."""
  alpha: float                    # weight of the distilled MLM loss
  beta: float                     # weight of the no-answer loss
  temperature: float              # softening of both vocabulary distributions
  mask_rate: float                # share of maskable tokens masked for DMLM
  dropout: float
  top_k_begins: int               # begin candidates searched at inference
  max_answer_tokens: int
  value_threshold: float          # a value is returned when p(value) reaches it
  max_seq_length: int             # tokens per window (model/windows.py)
  window_overlap: int             # title tokens shared by consecutive windows
  # The rule for attributes never trained on (model/value_threshold.py), tuned after training.
  unseen_kind: str = value_threshold.DEFAULT_UNSEEN_RULE[0]
  unseen_threshold: float = value_threshold.DEFAULT_UNSEEN_RULE[1]

  @classmethod
  def from_settings(cls, settings: ModelConfig = ModelConfig(),
                    threshold: float = DEFAULT_VALUE_THRESHOLD) -> 'AveqaConfig':
    return cls(alpha=settings.alpha, beta=settings.beta, temperature=settings.temperature,
               mask_rate=settings.mask_rate, dropout=settings.dropout, top_k_begins=settings.top_k_begins,
               max_answer_tokens=settings.max_answer_tokens, value_threshold=threshold,
               max_seq_length=settings.max_seq_length, window_overlap=settings.window_overlap)


class VocabularyProjection(keras.layers.Layer):
  """Frozen W_o: hidden states -> vocabulary logits (MLM head if the checkpoint has one).
  It computes in float32 under any policy (mixed_float16 on GPUs, mixed_bfloat16 on TPUs):
  the distilled MLM's softmax over the vocabulary needs it, and its head's Dense and
  LayerNorm would otherwise return the policy's dtype."""

  def __init__(self, embeddings, head=None, **kwargs):
    super().__init__(trainable=False, dtype='float32', **kwargs)
    self.embeddings = self.add_weight(shape=embeddings.shape, initializer='zeros',
                                      trainable=False, name='embeddings')
    self.embeddings.assign(embeddings)
    self.has_head = head is not None
    if self.has_head:
      hidden = embeddings.shape[1]
      self.dense = keras.layers.Dense(hidden, activation='gelu', trainable=False, dtype='float32',
                                      name='transform')
      self.norm = keras.layers.LayerNormalization(epsilon=1e-12, trainable=False, dtype='float32', name='norm')
      self.dense.build((None, hidden))
      self.norm.build((None, hidden))
      self.dense.set_weights([head['dense_kernel'], head['dense_bias']])
      self.norm.set_weights([head['norm_gamma'], head['norm_beta']])
      self.bias = self.add_weight(shape=(embeddings.shape[0],), initializer='zeros',
                                  trainable=False, name='output_bias')
      self.bias.assign(head['output_bias'])

  def call(self, hidden):
    hidden = tf.cast(hidden, tf.float32)
    if self.has_head:
      hidden = self.norm(self.dense(hidden))
    logits = tf.matmul(hidden, self.embeddings, transpose_b=True)
    return logits + self.bias if self.has_head else logits


class AveqaModel(QuestionModel):
  """Inputs: dict of token_ids, segment_ids, padding_mask [B, T] (+ labels when training:
  begin_position, end_position [B], has_answer [B])."""

  model_type = 'aveqa'   # serving/contract.py MODEL_TYPES

  def __init__(self, encoder, special_ids, config: AveqaConfig, teacher=None,
               vocab_projection=None, **kwargs):
    super().__init__(**kwargs)
    if config.alpha > 0 and (teacher is None or vocab_projection is None):
      raise ValueError('alpha > 0 needs the frozen teacher encoder and the vocabulary projection')
    self.config = config
    self.encoder = encoder
    self.teacher = teacher
    if teacher is not None:
      teacher.trainable = False
    self.vocab_projection = vocab_projection
    self.special_ids = dict(special_ids)
    hidden = encoder.hidden_dim
    init = keras.initializers.TruncatedNormal(stddev=0.02)
    self.begin_dense = keras.layers.Dense(1, kernel_initializer=init, name='begin')
    # f_e(concat(H_i, H_b)) = w_e . LN(tanh(W_i H_i + W_b H_b + c)): the concat written as
    # two projections so each H_i and each begin candidate is projected once.
    self.end_token_dense = keras.layers.Dense(hidden, kernel_initializer=init, name='end_token')
    self.end_begin_dense = keras.layers.Dense(hidden, use_bias=False, kernel_initializer=init,
                                              name='end_begin')
    self.end_norm = keras.layers.LayerNormalization(epsilon=1e-12, name='end_norm')
    self.end_dense = keras.layers.Dense(1, kernel_initializer=init, name='end')
    self.no_answer_dense = keras.layers.Dense(2, kernel_initializer=init, name='no_answer')
    # Build every head now, so that weights exist (and save/load) before the first call.
    for layer in self.heads:
      layer.build((None, None, hidden))
    self.built = True
    self.loss_trackers = {name: keras.metrics.Mean(name=name)
                          for name in ('loss', 'qa_loss', 'dmlm_loss', 'na_loss')}

  # ---- the heads -------------------------------------------------------------------
  @property
  def heads(self):
    """The layers on the encoder's output: with the encoder, all that serving computes."""
    return (self.begin_dense, self.end_token_dense, self.end_begin_dense, self.end_norm,
            self.end_dense, self.no_answer_dense)

  def encode(self, inputs, training=False):
    return self.encoder({k: inputs[k] for k in ('token_ids', 'segment_ids', 'padding_mask')},
                        training=training)['sequence_output']

  @property
  def null_target(self) -> bool:
    """beta = 0: "no value" is the span [CLS]..[CLS] (SQuAD 2.0), as no NA head decides it."""
    return self.config.beta == 0

  @staticmethod
  def cls_position(context):
    """[B, T] bool, True at position 0 ([CLS])."""
    return tf.equal(tf.range(tf.shape(context)[1])[tf.newaxis, :], 0) & tf.ones_like(context)

  def begin_logits(self, hidden):
    return tf.cast(tf.squeeze(self.begin_dense(hidden), -1), tf.float32)

  def end_logits(self, hidden, begins):
    """[B, k, T] end scores for each begin candidate begins [B, k]."""
    begin_states = tf.gather(hidden, begins, batch_dims=1)                    # [B, k, D]
    joint = (self.end_token_dense(hidden)[:, tf.newaxis, :, :]
             + self.end_begin_dense(begin_states)[:, :, tf.newaxis, :])       # [B, k, T, D]
    return tf.cast(tf.squeeze(self.end_dense(self.end_norm(tf.tanh(joint))), -1), tf.float32)

  def no_answer_logits(self, hidden):
    return tf.cast(self.no_answer_dense(hidden[:, 0, :]), tf.float32)

  def call(self, inputs, training=False):
    """Begin, no-answer and (given begin_position) conditioned end logits."""
    hidden = self.encode(inputs, training)
    outputs = {'begin_logits': self.begin_logits(hidden),
               'no_answer_logits': self.no_answer_logits(hidden)}
    if 'begin_position' in inputs:
      begins = tf.cast(inputs['begin_position'], tf.int32)[:, tf.newaxis]
      outputs['end_logits'] = self.end_logits(hidden, begins)[:, 0, :]
    return outputs

  # ---- inference -------------------------------------------------------------------
  def span_search(self, inputs, hidden):
    """What the network computes per window before any probability is decided, given the
    encoder's output hidden: the best span (begin, end: sequence positions, inclusive;
    log_prob = log p(b) + log p(e | b)), null_log_prob (log p(begin = [CLS]), SQuAD 2.0's
    null answer) and no_answer_logits [B, 2]. ONNX serving computes the same in its graph
    (serving/onnx_spans.py)."""
    context = self.context_mask(inputs)
    begin_logits = self.begin_logits(hidden)
    begin, end, log_prob = decoding.best_spans(
        begin_logits, lambda b: self.end_logits(hidden, b), context,
        self.config.top_k_begins, self.config.max_answer_tokens)
    null_log_prob = decoding.masked_log_softmax(begin_logits, context | self.cls_position(context))[:, 0]
    return {'begin': begin, 'end': end, 'log_prob': log_prob, 'null_log_prob': null_log_prob,
            'no_answer_logits': self.no_answer_logits(hidden)}

  def predict_spans(self, inputs, searched=None):
    """Best span per row with its probability and the no-answer decision.

    Returns begin/end token positions (inclusive), span_prob = p(b) p(e | b),
    no_answer_prob, value_prob, attribute_seen, has_value (model/value_threshold.py:
    value_prob >= value_threshold for an attribute trained on, the unseen rule for any
    other) and confidence: value_prob for a value, no_answer_prob for "no value".
    With the no-answer head, value_prob = span_prob * (1 - no_answer_prob). With beta = 0
    (null_target) the untrained head is ignored: no_answer_prob = p(null) / (p(null) +
    span_prob) and value_prob = 1 - no_answer_prob, SQuAD 2.0's null-score rule. searched:
    span_search's outputs on inputs when another runtime computed them (ONNX Runtime).
    """
    if searched is None:
      searched = self.span_search(inputs, self.encode(inputs, training=False))
    context = self.context_mask(inputs)
    log_prob = tf.cast(searched['log_prob'], tf.float32)
    if self.null_target:
      # SQuAD 2.0: the null answer's probability is p(begin = [CLS]) (its end is certain),
      # under the begin softmax that includes [CLS]; the best span's, renormalised to it.
      null_prob = tf.exp(tf.cast(searched['null_log_prob'], tf.float32))
      span_prob = tf.exp(log_prob) * (1.0 - null_prob)
      # "no value" when the null answer is likelier than the best span by the tuned factor:
      # value_prob = p(span) / (p(span) + p(null)) >= t.
      no_answer_prob = tf.math.divide_no_nan(null_prob, null_prob + span_prob)
      value_prob = 1.0 - no_answer_prob
    else:
      no_answer_prob = tf.nn.softmax(tf.cast(searched['no_answer_logits'], tf.float32), axis=-1)[:, 1]
      span_prob = tf.exp(log_prob)
      value_prob = value_threshold.value_probability(span_prob, no_answer_prob)
    return self.decide(inputs, context, {
        'begin': tf.cast(searched['begin'], tf.int32), 'end': tf.cast(searched['end'], tf.int32),
        'span_prob': span_prob, 'no_answer_prob': no_answer_prob, 'value_prob': value_prob})

  # ---- training --------------------------------------------------------------------
  def mask_tokens(self, inputs):
    """BERT masking of ~mask_rate of the non-special tokens (question tokens included;
    model/masking.py): the masked token ids and the bool mask of chosen positions."""
    return masking.mask_tokens(inputs['token_ids'], inputs['padding_mask'], self.special_ids,
                               self.config.mask_rate, self.vocab_projection.embeddings.shape[0])

  def distillation_loss(self, student_hidden, teacher_hidden, chosen, weights=None):
    """KL(teacher || student) of the T-softened vocabulary distributions at chosen positions,
    each token weighted as its example (weights [B], default 1)."""
    t = self.config.temperature
    student = self.vocab_projection(tf.boolean_mask(student_hidden, chosen)) / t
    teacher = tf.stop_gradient(self.vocab_projection(tf.boolean_mask(teacher_hidden, chosen)) / t)
    teacher_log_probs = tf.nn.log_softmax(teacher, -1)
    per_token = tf.reduce_sum(tf.exp(teacher_log_probs)
                              * (teacher_log_probs - tf.nn.log_softmax(student, -1)), -1)
    if weights is None:
      weights = tf.ones(tf.shape(chosen)[:1])
    token_weights = tf.boolean_mask(tf.broadcast_to(weights[:, tf.newaxis], tf.shape(chosen)), chosen)
    return tf.math.divide_no_nan(tf.reduce_sum(token_weights * per_token), tf.reduce_sum(token_weights))

  def qa_loss(self, outputs, labels):
    """Weighted mean of begin and end cross-entropy over examples that have an answer (all
    examples with the null target, whose no-answer ones point at [CLS])."""
    has_answer = self.example_weights(labels)
    if not self.null_target:
      has_answer *= tf.cast(labels['has_answer'], tf.float32)
    begin_ce = tf.nn.sparse_softmax_cross_entropy_with_logits(
        tf.cast(labels['begin_position'], tf.int32), outputs['begin_logits'])
    end_ce = tf.nn.sparse_softmax_cross_entropy_with_logits(
        tf.cast(labels['end_position'], tf.int32), outputs['end_logits'])
    return tf.math.divide_no_nan(tf.reduce_sum(has_answer * (begin_ce + end_ce) / 2),
                                 tf.reduce_sum(has_answer))

  def no_answer_loss(self, outputs, labels):
    no_answer = 1 - tf.cast(labels['has_answer'], tf.int32)
    weights = self.example_weights(labels)
    return tf.math.divide_no_nan(tf.reduce_sum(weights * tf.nn.sparse_softmax_cross_entropy_with_logits(
        no_answer, outputs['no_answer_logits'])), tf.reduce_sum(weights))

  def compute_losses(self, features, training):
    context = self.context_mask(features)
    hidden = self.encode(features, training)
    cls = self.cls_position(context)
    begin_allowed = context | cls if self.null_target else context
    outputs = {'begin_logits': tf.where(begin_allowed, self.begin_logits(hidden), decoding.NEG_INF),
               'no_answer_logits': self.no_answer_logits(hidden)}
    # Teacher forcing: the end head is conditioned on the gold begin token.
    begins = tf.cast(features['begin_position'], tf.int32)[:, tf.newaxis]
    allowed = decoding.end_mask(begins, context, tf.shape(context)[1])[:, 0, :]
    if self.null_target:   # a null answer begins and ends at [CLS]
      allowed = tf.where(tf.equal(begins, 0), cls, allowed)
    outputs['end_logits'] = tf.where(allowed, self.end_logits(hidden, begins)[:, 0, :],
                                     decoding.NEG_INF)
    losses = {'qa_loss': self.qa_loss(outputs, features)}
    total = losses['qa_loss']
    if self.config.beta > 0:
      losses['na_loss'] = self.no_answer_loss(outputs, features)
      total += self.config.beta * losses['na_loss']
    if self.config.alpha > 0:
      masked_ids, chosen = self.mask_tokens(features)
      masked = dict(features, token_ids=masked_ids)
      losses['dmlm_loss'] = self.distillation_loss(
          self.encode(masked, training),
          self.teacher({k: masked[k] for k in ('token_ids', 'segment_ids', 'padding_mask')},
                       training=False)['sequence_output'],
          chosen, self.example_weights(features))
      total += self.config.alpha * losses['dmlm_loss']
    losses['loss'] = total
    return losses


def build_model(checkpoint, config: AveqaConfig) -> AveqaModel:
  """AVEQA on a pretrained checkpoint (model.checkpoint.Checkpoint)."""
  from model import checkpoint as checkpoints
  encoder = checkpoints.load_encoder(checkpoint, dropout=config.dropout, name='encoder')
  encoder.get_layer('pooled_dense').trainable = False   # AVEQA reads [CLS] from H, not the pooler
  teacher = projection = None
  if config.alpha > 0:
    teacher = checkpoints.load_encoder(checkpoint, dropout=0.0, name='teacher')
    projection = VocabularyProjection(
        keras.ops.convert_to_numpy(teacher.token_embedding.embeddings),
        checkpoints.mlm_head_weights(checkpoint), name='vocab_projection')
  return AveqaModel(encoder, checkpoint.special_ids, config, teacher=teacher,
                    vocab_projection=projection, name='aveqa')


def summary_lines(model: AveqaModel):
  """What a user should know about this instance, for the Trainer log."""
  c = model.config
  projection = ('none (alpha = 0)' if model.vocab_projection is None else
                'checkpoint MLM head' if model.vocab_projection.has_head else
                'frozen tied word embeddings (checkpoint has no MLM head)')
  return [f'AVEQA: alpha={c.alpha} beta={c.beta} T={c.temperature} mask_rate={c.mask_rate}',
          f'  encoder: {model.encoder.num_layers} layers, hidden {model.encoder.hidden_dim}',
          f'  DMLM teacher: {"frozen pretrained copy" if model.teacher is not None else "none"}',
          f'  DMLM vocabulary projection W_o: {projection}']
