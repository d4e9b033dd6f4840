"""What every attribute-value extractor of this project shares, whatever its network
(AVEQA: model/aveqa.py, SUOpenTag: model/suopentag.py).

Each reads a question as the windows of "[CLS] title [SEP] attribute [SEP]" (model/
windows.py), answers each window with predict_spans (begin and end title positions,
span_prob, no_answer_prob, value_prob) and is decided by the same rules: the value
threshold tuned on dev for an attribute trained on, the unseen rule tuned on pseudo-unseen
attributes for any other (model/value_threshold.py). So the Trainer, the threshold tuning, the serving
export and the gate treat every model alike.
"""
import keras
import tensorflow as tf

from model import value_threshold, windows


class QuestionModel(keras.Model):
  """Subclasses set self.config (value_threshold, max_seq_length, window_overlap),
  self.special_ids and self.loss_trackers ({name: keras.metrics.Mean}, 'loss' among them),
  and define predict_spans(inputs, searched=None) and compute_losses(features, training)."""

  seen_attributes = None   # set by remember_attributes after training

  def context_mask(self, inputs):
    """True on title tokens: segment 0, not padding, not [CLS]/[SEP]."""
    ids = inputs['token_ids']
    return ((tf.cast(inputs['segment_ids'], tf.int32) == 0)
            & tf.cast(inputs['padding_mask'], tf.bool)
            & tf.not_equal(ids, tf.cast(self.special_ids['cls'], ids.dtype))
            & tf.not_equal(ids, tf.cast(self.special_ids['sep'], ids.dtype)))

  def attribute_mask(self, inputs):
    """True on the attribute's tokens: segment 1, not padding, not [SEP]."""
    ids = inputs['token_ids']
    return ((tf.cast(inputs['segment_ids'], tf.int32) == 1)
            & tf.cast(inputs['padding_mask'], tf.bool)
            & tf.not_equal(ids, tf.cast(self.special_ids['sep'], ids.dtype)))

  def attribute_keys(self, inputs):
    """One string per row naming the question's attribute by its token ids (segment 1)."""
    return tf.strings.reduce_join(
        tf.strings.as_string(tf.ragged.boolean_mask(inputs['token_ids'], self.attribute_mask(inputs))),
        axis=1, separator=' ')

  def remember_attributes(self, keys):
    """The attribute keys (attribute_keys) the model was trained on. The value threshold is
    tuned on those; a question on any other attribute is decided by the unseen rule
    (config.unseen_kind, config.unseen_threshold)."""
    keys = sorted(set(keys))
    self.seen_attributes = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant(keys, tf.string), tf.ones([len(keys)], tf.int64)),
        default_value=0)

  def attribute_seen(self, inputs):
    """[B] bool: the question's attribute was trained on (all True before remember_attributes)."""
    if self.seen_attributes is None:
      return tf.ones(tf.shape(inputs['token_ids'])[:1], tf.bool)
    return self.seen_attributes.lookup(self.attribute_keys(inputs)) > 0

  def decide(self, inputs, context, spans, has_span=None):
    """spans (begin, end, span_prob, no_answer_prob, value_prob per window) with the
    decision added: attribute_seen, has_value (model/value_threshold.py; never on a window
    without title tokens, nor where has_span [B] says there is no span) and confidence
    (value_prob for a value, no_answer_prob for none)."""
    seen = self.attribute_seen(inputs)
    score = value_threshold.decision_score(spans['value_prob'], spans['no_answer_prob'], seen,
                                           self.config.unseen_kind, self.config.unseen_threshold)
    has_value = (score >= self.config.value_threshold) & tf.reduce_any(context, -1)
    if has_span is not None:
      has_value &= has_span
    return dict(spans, attribute_seen=seen, has_value=has_value,
                confidence=tf.where(has_value, spans['value_prob'], spans['no_answer_prob']))

  @property
  def layout(self) -> windows.Layout:
    return windows.Layout(self.config.max_seq_length, self.config.window_overlap,
                          self.special_ids['cls'], self.special_ids['sep'])

  def encoder_inputs(self, title_ids, attribute_ids):
    """The network's inputs for whole questions: one row per window (model/windows.py)."""
    return windows.model_inputs(windows.split(title_ids, attribute_ids, self.layout))

  def predict_questions(self, title_ids, attribute_ids, searched=None):
    """predict_spans for whole questions, however long their titles: each title is read
    in overlapping windows and the best window answers (model/windows.py). Takes title and
    attribute token ids [B, (L)], [B, (A)]; begin/end are title token indices; 'windows'
    says how many windows each question took. searched: the network's per-window span
    search on encoder_inputs(title_ids, attribute_ids), when another runtime computed it
    (AveqaModel.span_search)."""
    question_windows = windows.split(title_ids, attribute_ids, self.layout)
    spans = self.predict_spans(windows.model_inputs(question_windows), searched)
    return windows.question_answers(question_windows, spans)

  @staticmethod
  def example_weights(features):
    """[B] each example's share in the losses: 'example_weight' (mined triples may weigh
    less than labelled ones), else 1."""
    if 'example_weight' in features:
      return tf.cast(features['example_weight'], tf.float32)
    return tf.ones(tf.shape(features['token_ids'])[:1])

  # ---- training --------------------------------------------------------------------
  def train_step(self, data):
    data, _, _ = keras.utils.unpack_x_y_sample_weight(data)   # labels travel inside x
    with tf.GradientTape() as tape:
      losses = self.compute_losses(data, training=True)
      loss = losses['loss']
      scaled = self.optimizer.scale_loss(loss) if hasattr(self.optimizer, 'scale_loss') else loss
    variables = self.trainable_variables
    gradients = tape.gradient(scaled, variables)
    self.optimizer.apply(gradients, variables)
    return self._track(losses)

  def test_step(self, data):
    data, _, _ = keras.utils.unpack_x_y_sample_weight(data)
    return self._track(self.compute_losses(data, training=False))

  def _track(self, losses):
    for name, value in losses.items():
      self.loss_trackers[name].update_state(value)
    return {name: tracker.result() for name, tracker in self.loss_trackers.items()
            if name in losses}

  @property
  def metrics(self):
    return list(self.loss_trackers.values())
