"""Data: reading each dataset format, the validation suite, tokenization and vocabularies."""
