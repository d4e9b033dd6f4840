"""Names of the columns the enriched catalog adds per target attribute
(schemas/catalog_output.md), shared by the writer and the run report."""
import re


def slug(attribute: str) -> str:
  """'Brand Name' -> 'brand_name': lower case, each run of non-word characters one '_'."""
  return re.sub(r'\W+', '_', attribute.lower()).strip('_')


def output_columns(attribute: str):
  """(value, confidence, model version) column names of one target attribute."""
  s = slug(attribute)
  return f'{s}__value', f'{s}__confidence', f'{s}__model_version'


def span_column(attribute: str) -> str:
  """The column of the extracted span as the text spells it (the value column holds it in
  the catalog's spelling)."""
  return f'{slug(attribute)}__span'
