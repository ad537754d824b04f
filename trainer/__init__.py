"""Offline side of firth: corpus -> vocabulary -> word2vec (skip-gram, CBOW) / GloVe -> artifact,
importers and exporters of pretrained formats, evaluation, and the `firth` command line."""
