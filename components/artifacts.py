"""Artifact types of the catalog side of the pipeline."""
from tfx.types.artifact import Artifact


class CatalogRows(Artifact):
  """A validated catalog: accepted/ and quarantined/ Parquet files and summary.json."""
  TYPE_NAME = 'aveqa.CatalogRows'   # <namespace>.<Name>: the form KFP v2 specs require


class EnrichedCatalog(Artifact):
  """The filled catalog: Parquet files (schemas/catalog_output.md) and summary.json."""
  TYPE_NAME = 'aveqa.EnrichedCatalog'
