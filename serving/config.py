"""How bulk inference serves the blessed model, defaults included: runtime, precision, batching,
and the review queue it writes beside the filled catalog."""
import dataclasses
from typing import List

from model.config import setting
from serving import serving_choice
from serving.contract import AUTO, PRECISIONS, RUNTIMES, check_serving


@dataclasses.dataclass
class InferenceConfig:
  precision: str = setting(AUTO, 'serving precision of bulk inference, and of what the gate '
                           'and --eval-triples score (float32 runs anywhere; int8 is the x86 CPU '
                           'fast path, bfloat16 needs AVX512-BF16/AMX, GPUs or TPUs; auto, with '
                           '--runtime auto: the gate chooses ONNX int8 or TensorFlow float32 by '
                           'eval F1: docs/deployment.md)', choices=PRECISIONS + (AUTO,))
  runtime: str = setting(AUTO, "what computes the network in bulk inference and the gate: "
                         "TensorFlow (every precision) or ONNX Runtime's fused CPU kernels (float32, "
                         "int8); auto, with --precision auto: ONNX int8 on x86 CPUs when the gate "
                         "measures its F1 within 0.3 points of TensorFlow float32's, else TensorFlow "
                         "float32 (docs/deployment.md)", choices=RUNTIMES + (AUTO,))
  batch_size: int = setting(256, 'rows (questions, or windows of long titles) per batch the network '
                            'runs in bulk inference', flag='inference-batch-size')
  bucket_size: int = setting(8192, 'questions handed to the model at once, sorted by length into '
                             'batches there (the memory bound of bulk inference)')
  incremental: bool = setting(False, "reuse the previous run's answer to each question whose text and "
                              'attribute it asked, when the same model served the same way gave it: '
                              'unchanged rows ask nothing; a new model or runtime asks everything again')
  review_size: int = setting(50, 'filled values per attribute, the least sure first, written to '
                             'the review queue beside the filled catalog (0: no queue)')
  # Added to the Beam args of the catalog steps (questions, inference, writer). Locally:
  # one process using every core (the runtime's own threads) rather than one process per
  # core, each holding a copy of the model and each starting by importing TensorFlow: on
  # small machines that start-up takes longer than the steps' own work (docs/deployment.md).
  # Ignored by Dataflow and other runners.
  beam_args: List[str] = setting(['--direct_running_mode=in_memory'], 'not a flag')

  def __post_init__(self):
    try:
      check_serving(*serving_choice.named_or_reference(self.runtime, self.precision))
    except ValueError as e:
      raise ValueError(f'--runtime {self.runtime} --precision {self.precision}: {e}') from None
