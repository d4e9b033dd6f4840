"""Which model fills the catalog: the candidate the gate just blessed, or, when the gate
refused it, the model that is being served (the newest one blessed before), so a scheduled
run whose retrain is refused still fills its new products. --fill-only-when-blessed turns
the fallback off."""
import dataclasses
from typing import Optional


@dataclasses.dataclass(frozen=True)
class ModelChoice:
  model_uri: Optional[str]   # None: nothing fills the catalog
  served_instead: bool       # the candidate was refused; the served model fills
  refusal: str               # why the candidate was refused ('' when it was not)


def choose(candidate_uri: str, blessed: Optional[bool], refusal: str, served_uri: Optional[str],
           fill_only_when_blessed: bool) -> ModelChoice:
  """blessed None: no gate ran (a model given to the enrichment pipeline), it fills."""
  if blessed is None or blessed:
    return ModelChoice(candidate_uri, False, '')
  if served_uri and not fill_only_when_blessed:
    return ModelChoice(served_uri, True, refusal)
  return ModelChoice(None, False, refusal)


def of_artifacts(model, model_blessing, served_model, fill_only_when_blessed) -> ModelChoice:
  """choose() on a TFX component's input artifacts."""
  blessed = None if model_blessing is None else bool(model_blessing.get_int_custom_property('blessed'))
  refusal = '' if model_blessing is None else (model_blessing.get_string_custom_property('reason')
                                               or 'model not blessed')
  return choose(model.uri, blessed, refusal, served_model.uri if served_model is not None else None,
                fill_only_when_blessed)
