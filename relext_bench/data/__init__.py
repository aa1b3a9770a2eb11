"""Corpora: the language-neutral data model, loaders, the instance builder, vocabularies."""
