"""Tests of the input layer: units, YAML reading, validation, cross-references, overrides, schema."""
