"""The catalog side's settings, defaults included: what to read (labelled triples, the
catalog, its categories, reviewed queues), how the catalog's known values become training
data, and how triples are split. pipelines/configs.py composes them into the run's
configuration; the components receive them as plain values."""
import dataclasses
import os
from typing import Optional, Tuple

from catalog.splits import RULES as SPLIT_RULES
from model.config import setting

# What a known catalog value the text does not hold gives (catalog/mining.py).
KNOWN_NOT_IN_TEXT = ('null', 'skip')

REPO_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE_TRIPLES = os.path.join(REPO_DIR, 'data', 'sample', 'triples', '*.txt')
SAMPLE_CATALOG = os.path.join(REPO_DIR, 'data', 'sample', 'catalog', '*.parquet')
# The attributes the AVEQA paper holds out of training for AE-zero-shot.
PAPER_ZERO_SHOT_ATTRIBUTES = ('Frame Color', 'Lenses Color', 'Shell Material', 'Wheel Material',
                              'Product Type')


@dataclasses.dataclass
class DataConfig:
  """What to read. With neither --triples nor --catalog the embedded sample runs; with a
  catalog alone the pipeline learns from its known values and fills its attribute columns."""
  triples: Optional[str] = setting(None, "labelled triples, AE-pub format (local or gs://, file "
                                   "patterns allowed; '' for none); default: the embedded sample "
                                   "when no --catalog is given, else none: the catalog's known "
                                   "values are the training data")
  catalog: Optional[str] = setting(None, 'catalog Parquet file pattern to fill (default: the embedded '
                                   'sample, only when no --triples is given)')
  attributes: Tuple[str, ...] = setting((), "comma-separated target attributes (default: the catalog's "
                                        'attribute columns, every text column but product_id, title, '
                                        'description and the category; for the embedded sample '
                                        'schemas/target_attributes.txt)')
  category_column: str = setting('category', 'the column naming each row\'s category, used when the '
                                 "catalog has it: a row is asked only its category's attributes "
                                 "(catalog/categories.py; '' for none)")
  attribute_map: str = setting('', 'CSV of category,attribute: the attributes of each category '
                               "(default: learned from the catalog's known values)")
  min_category_share: float = setting(0.01, "an attribute applies to a category when at least this "
                                      "share of the category's rows (and two rows) know it")
  no_value_tokens: Tuple[str, ...] = setting(('n/a',), 'comma-separated cell texts (any case) that '
                                             'say a product has no such value: not asked, and "no '
                                             'value" examples for training')
  value_removed_negatives: bool = setting(True, 'each known value found in its text also gives a "no '
                                          'value" example: the text with the value removed '
                                          '(catalog/mining.py)')
  dedupe_triples: bool = setting(True, 'drop repeated identical triple lines')
  # on, by the numbers in docs/results/wdc-pave.md: a third of the values are stated only
  # in descriptions, for about three times the catalog step's time.
  use_description: bool = setting(True, "read the catalog's description after the title "
                                  '(--no-use-description: the title only)')
  repredict_known: bool = setting(False, 'also predict attributes the catalog already has (auditing)')
  mine_known_values: bool = setting(True, "also train on triples mined from the values the catalog "
                                    "already knows (catalog/mining.py)")
  # skip, by the numbers in docs/results.md: null only wins when every value a text does
  # not hold is truly absent from it, not a respelling.
  known_not_in_text: str = setting('skip', 'a known value the text does not hold: no example (skip) '
                                   'or a "no value" example (null, for catalogs whose values are '
                                   'taken from their text)', choices=KNOWN_NOT_IN_TEXT)
  max_mined_per_attribute: int = setting(0, 'at most this many mined triples per attribute, so one '
                                         'frequent attribute does not drown the rest (0: all)')
  mined_weight: float = setting(1.0, "a mined triple's share in the training losses; a labelled "
                                "triple's is 1")
  reviewed: str = setting('', "filled-in review queues of earlier runs (Parquet or CSV, local or "
                          "gs://, file patterns allowed): each reviewed row is a labelled triple "
                          "(catalog/review_queue.py)")

  def __post_init__(self):
    if not self.mined_weight > 0:
      raise ValueError(f'mined_weight must be above 0 (--no-mine-known-values turns mining off), '
                       f'got {self.mined_weight}')
    if not 0 <= self.min_category_share <= 1:
      raise ValueError(f'min_category_share must be in [0, 1], got {self.min_category_share}')
    if self.triples is not None and self.catalog is None:
      raise ValueError('--triples needs --catalog, the catalog to fill: the embedded sample runs '
                       'only when neither is given')

  @property
  def is_sample(self) -> bool:
    return self.catalog is None and self.triples is None

  def triples_pattern(self) -> str:
    """The labelled triples read: --triples, the sample's, or '' (the catalog alone)."""
    if self.triples is not None:
      return self.triples
    return SAMPLE_TRIPLES if self.is_sample else ''

  def catalog_pattern(self) -> str:
    return SAMPLE_CATALOG if self.catalog is None else self.catalog

  def target_attributes(self) -> Tuple[str, ...]:
    """--attributes; the sample's list; or () for the catalog's attribute columns, which
    CatalogQuestionGen reads from the catalog itself."""
    if self.attributes:
      return tuple(self.attributes)
    if self.is_sample:
      import schemas
      return tuple(schemas.read_target_attributes())
    return ()


@dataclasses.dataclass
class SplitConfig:
  rule: str = setting('random', 'train/eval split of the triples', flag='split', choices=SPLIT_RULES)
  eval_percent: int = setting(20, 'share of the triples in the eval split (random, grouped)')
  held_out: Tuple[str, ...] = setting(PAPER_ZERO_SHOT_ATTRIBUTES,
                                      'attributes held out of training by --split zero_shot')


@dataclasses.dataclass
class FillConfig:
  """How the catalog's cells are filled: values in the catalog's own spelling
  (catalog/vocabulary.py), and each attribute only as far as its precision on the eval split
  reaches the owner's target (evaluation/precision_targets.py)."""
  target_precision: Optional[float] = setting(None, 'fill each attribute only above the lowest '
                                              'confidence whose precision on the eval split reaches '
                                              'this (its Wilson lower bound, not the estimate); an '
                                              'attribute that cannot reach it fills nothing and goes '
                                              "to review (default: the model's own threshold)")
  attribute_precision: str = setting('', "per-attribute targets, 'Brand=0.98,Material=0.9', over "
                                     '--target-precision')
  value_aliases: str = setting('', 'CSV of attribute,alias,value: spellings the text uses for a value '
                               "the catalog writes otherwise (local or gs://); learned aliases come "
                               'from --alias-probes')
  # on, by the numbers in docs/results/wdc-pave.md: most "no value" cells the model filled
  # held another attribute's value.
  one_attribute_per_value: bool = setting(True, 'a value found for two attributes of a row fills '
                                          'only one: the one the row knows, else the one whose '
                                          'vocabulary holds it, else the surer; unless the '
                                          "catalog's known values show the two sharing a value "
                                          '(catalog/value_claims.py)')
  alias_probes: int = setting(200, "known values per attribute asked again, to learn how the text "
                              "spells the catalog's values (0: none; they cost questions, not fills)")

  def __post_init__(self):
    for name, target in [('--target-precision', self.target_precision)] + [
        (f'--attribute-precision {e}', e.rpartition('=')[2]) for e in self.attribute_precision.split(',') if e.strip()]:
      if target is None:
        continue
      try:
        number = float(target)
      except ValueError:
        raise ValueError(f"{name}: '{target}' is not a number") from None
      if not 0 < number <= 1:
        raise ValueError(f'{name} must be in (0, 1], got {number}')
    if self.alias_probes < 0:
      raise ValueError(f'--alias-probes must be 0 or more, got {self.alias_probes}')

  @property
  def has_targets(self) -> bool:
    return self.target_precision is not None or bool(self.attribute_precision.strip())
