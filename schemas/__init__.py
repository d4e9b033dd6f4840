"""Data read by every layer: the TFMD schemas and the list of target attributes."""
import os

SCHEMAS_DIR = os.path.dirname(os.path.abspath(__file__))
TRAINING_TRIPLES_SCHEMA = os.path.join(SCHEMAS_DIR, 'training_triples.pbtxt')
TARGET_ATTRIBUTES_FILE = os.path.join(SCHEMAS_DIR, 'target_attributes.txt')
